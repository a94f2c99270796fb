"""Pickles hold plain data: skops and mlflow load them trusting sklstm's classes only."""

import copy
import io
import pickle

import numpy as np
import pandas as pd
import pytest
import skops.io
import torch
from _tasks import outputs, targets
from sklearn.pipeline import make_pipeline

from sklstm import (
    LSTMSequenceClassifier,
    SequenceScaler,
    SlidingWindowTransformer,
    skops_trusted_types,
)
from sklstm.datasets import make_sequence_classification

X, Y = make_sequence_classification(n_samples=40, n_timesteps=10, random_state=0)
FAST = dict(hidden_size=4, conv_channels=(4,), max_epochs=3, random_state=0)


class _Recorder(pickle.Unpickler):
    """An unpickler that records every global a pickle names."""

    def __init__(self, data):
        super().__init__(io.BytesIO(data))
        self.names = set()

    def find_class(self, module, name):
        self.names.add(f"{module}.{name}")
        return super().find_class(module, name)


def test_a_pickle_names_only_numpy_and_the_estimator(Estimator):
    est = Estimator(**FAST).fit(X, targets(Estimator, Y))
    recorder = _Recorder(pickle.dumps(est))
    loaded = recorder.load()
    assert {name.split(".")[0] for name in recorder.names} <= {"numpy", "sklstm"}
    assert {n for n in recorder.names if n.startswith("sklstm")} == {
        f"{Estimator.__module__}.{Estimator.__qualname__}"
    }
    np.testing.assert_array_equal(outputs(loaded, X), outputs(est, X))
    assert loaded.n_iter_ == est.n_iter_ and len(loaded.history_) == est.n_iter_
    assert loaded.history_[-1, "train_loss"] == est.history_[-1, "train_loss"]
    # The estimator pickled is untouched, and a copy is a model of its own.
    np.testing.assert_array_equal(outputs(est, X), outputs(copy.deepcopy(est), X))


def test_an_unpickled_model_keeps_training_where_it_stopped(Estimator):
    y = targets(Estimator, Y)
    est = Estimator(**FAST, warm_start=True).fit(X, y)
    loaded = pickle.loads(pickle.dumps(est))
    for state in (est.net_.optimizer_.state_dict(), loaded.net_.optimizer_.state_dict()):
        assert len(state["state"]) > 0  # Adam's moments came along
    est.fit(X, y)
    loaded.fit(X, y)
    assert loaded.n_iter_ == est.n_iter_ == 6
    np.testing.assert_array_equal(outputs(loaded, X), outputs(est, X))


def test_a_model_pickled_on_cuda_unpickles_on_the_cpu():
    clf = LSTMSequenceClassifier(**FAST).fit(X, Y)
    state = clf.__getstate__()
    assert state["net_"]["device"] == "cpu"
    state["net_"]["device"] = "cuda"
    loaded = LSTMSequenceClassifier.__new__(LSTMSequenceClassifier)
    if not torch.cuda.is_available():
        with pytest.warns(UserWarning, match="trained on CUDA.*loaded on the CPU"):
            loaded.__setstate__(state)
        assert loaded.net_.device == "cpu"
    else:
        loaded.__setstate__(state)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_a_tampered_pickled_network_is_refused():
    clf = LSTMSequenceClassifier(**FAST).fit(X, Y)
    state = clf.__getstate__()
    key = next(iter(state["net_"]["module"]))
    state["net_"]["module"][key] = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match="weight .* the network needs"):
        LSTMSequenceClassifier.__new__(LSTMSequenceClassifier).__setstate__(state)
    state = clf.__getstate__()
    state["net_"]["extra"] = 1
    with pytest.raises(ValueError, match="pickled network has fields"):
        LSTMSequenceClassifier.__new__(LSTMSequenceClassifier).__setstate__(state)


def _pipelines():
    series = np.random.default_rng(0).normal(size=(50, 2))
    labels = (series[:, 0] > 0).astype(int)
    nested = pd.DataFrame({
        "a": [pd.Series(x[:, 0]) for x in X], "b": [pd.Series(x[:, 1]) for x in X],
        "c": [pd.Series(x[:, 2]) for x in X],
    })
    return [
        (LSTMSequenceClassifier(**FAST).fit(X, Y), X),
        (make_pipeline(SequenceScaler(), LSTMSequenceClassifier(**FAST)).fit(nested, Y), nested),
        (make_pipeline(
            SlidingWindowTransformer(4), SequenceScaler(), LSTMSequenceClassifier(**FAST)
        ).fit(series, labels), series),
    ]


def test_skops_loads_models_trusting_only_skops_trusted_types():
    for model, data in _pipelines():
        dumped = skops.io.dumps(model)
        assert set(skops.io.get_untrusted_types(data=dumped)) <= set(skops_trusted_types())
        with pytest.raises(skops.io.exceptions.UntrustedTypesFoundException):
            skops.io.loads(dumped)  # nothing is trusted silently
        loaded = skops.io.loads(dumped, trusted=skops_trusted_types())
        np.testing.assert_array_equal(loaded.predict_proba(data), model.predict_proba(data))


def test_mlflow_logs_and_loads_a_model_with_skops(tmp_path, monkeypatch):
    import mlflow
    import mlflow.sklearn

    # A local file store, no server; mlflow 3 asks to opt in to it.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    model, data = _pipelines()[1]
    try:
        with mlflow.start_run():
            info = mlflow.sklearn.log_model(
                model, name="model", serialization_format="skops",
                skops_trusted_types=skops_trusted_types(),
                pip_requirements=["sklstm"],  # no inference of the environment
            )
        loaded = mlflow.sklearn.load_model(info.model_uri)
    finally:
        mlflow.set_tracking_uri(None)
    np.testing.assert_array_equal(loaded.predict_proba(data), model.predict_proba(data))


def test_mlflow_pyfunc_serves_3d_and_ragged_multiindex_input(tmp_path, monkeypatch):
    import mlflow
    import mlflow.pyfunc
    import mlflow.sklearn
    from mlflow.models import infer_signature

    # A signature holds rectangular tensors or tables: ragged sequences go to
    # pyfunc as a pd-multiindex DataFrame (instance, timepoint), whose index
    # pyfunc keeps.
    ragged = [x[: 5 + i % 5].astype(np.float64) for i, x in enumerate(X)]
    index = pd.MultiIndex.from_tuples(
        [(i, t) for i, s in enumerate(ragged) for t in range(len(s))],
        names=["instance", "timepoint"],
    )
    frame = pd.DataFrame(np.concatenate(ragged), index=index, columns=["a", "b", "c"])
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow.set_tracking_uri((tmp_path / "mlruns").as_uri())
    try:
        for data in (X, frame):
            model = LSTMSequenceClassifier(**FAST).fit(data, Y)
            with mlflow.start_run():
                info = mlflow.sklearn.log_model(
                    model, name="model", serialization_format="skops",
                    skops_trusted_types=skops_trusted_types(),
                    signature=infer_signature(data, model.predict(data)),
                    pip_requirements=["sklstm"],
                )
            served = mlflow.pyfunc.load_model(info.model_uri)
            np.testing.assert_array_equal(served.predict(data), model.predict(data))
    finally:
        mlflow.set_tracking_uri(None)
