"""sklstm.save / sklstm.load: models as data, and files that must not load."""

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from safetensors.numpy import save_file
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import EarlyStopping

import sklstm
from sklstm import LSTMSequenceClassifier, SequenceScaler, SlidingWindowTransformer

FAST = dict(hidden_size=8, max_epochs=3, random_state=0)


def round_trip(estimator, tmp_path, **load_params):
    path = tmp_path / "model.safetensors"
    sklstm.save(estimator, path)
    return sklstm.load(path, **load_params)


def assert_same_classifier(loaded, clf, X):
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.get_params() == clf.get_params()
    np.testing.assert_array_equal(loaded.classes_, clf.classes_)
    assert loaded.classes_.dtype == clf.classes_.dtype
    assert list(loaded.history_) == list(clf.history_)
    assert loaded.n_iter_ == clf.n_iter_ and loaded.n_features_in_ == clf.n_features_in_


@pytest.mark.parametrize(
    "params",
    [
        {},
        dict(hidden_size=(6, 4), bidirectional=False, pooling="last", dropout=0.2),
        dict(optimizer=torch.optim.AdamW, dtype="float64", class_weight={"b": 2.0, "a": 1.0}),
        dict(optimizer="sgd", validation_fraction=0.25, early_stopping=True, n_iter_no_change=2),
        dict(conv_channels=(6, 4)),  # batch norm's running statistics too
        dict(optimizer=torch.optim.LBFGS, conv_channels=None),  # its curvature history
        dict(normalize="per_sequence"),
        dict(normalize="both"),
        dict(lstm_stride=4),
        dict(autocast="bfloat16"),
    ],
)
def test_round_trip_of_classifier_is_exact(ragged, tmp_path, params):
    X, y = ragged
    labels = np.array(["a", "b", "c"])[y]
    clf = LSTMSequenceClassifier(**{**FAST, **params}).fit(X, labels)
    assert_same_classifier(round_trip(clf, tmp_path), clf, X)


@pytest.mark.parametrize("optimizer", ["adam", "sgd", "rmsprop", torch.optim.LBFGS, torch.optim.NAdam])
def test_loaded_optimizer_state_continues_training_identically(seq3d, tmp_path, optimizer):
    X, y = seq3d
    clf = LSTMSequenceClassifier(**{**FAST, "optimizer": optimizer, "conv_channels": (3,)}).fit(X, y)
    loaded = round_trip(clf, tmp_path)
    clf.partial_fit(X, y)
    loaded.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_round_trip_of_table_input_with_feature_names(seq3d, tmp_path):
    X, y = seq3d
    frame = pd.DataFrame(X[:, :, 0], columns=[f"t{i}" for i in range(X.shape[1])])
    clf = LSTMSequenceClassifier(**FAST).fit(frame, y)
    loaded = round_trip(clf, tmp_path)
    assert_same_classifier(loaded, clf, frame)
    np.testing.assert_array_equal(loaded.feature_names_in_, clf.feature_names_in_)
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame.rename(columns={"t0": "other"}))


def test_round_trip_of_unfitted_estimator(tmp_path):
    clf = LSTMSequenceClassifier(hidden_size=(4, 4), lr=0.01, device="auto")
    loaded = round_trip(clf, tmp_path)
    assert loaded.get_params() == clf.get_params()
    assert isinstance(loaded.get_params()["hidden_size"], tuple)
    with pytest.raises(Exception, match="not fitted"):
        check_is_fitted(loaded)


def test_training_continues_from_a_loaded_model_as_from_the_original(seq3d, tmp_path):
    X, y = seq3d
    clf = LSTMSequenceClassifier(**FAST).fit(X, y)
    loaded = round_trip(clf, tmp_path)
    # Adam's moments are restored: one more epoch gives the same weights.
    clf.partial_fit(X, y)
    loaded.partial_fit(X, y)
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.n_iter_ == clf.n_iter_ == FAST["max_epochs"] + 1


def test_round_trip_of_transformers_and_pipelines(seq3d, tmp_path):
    X, y = seq3d
    scaler = SequenceScaler().fit(X)
    np.testing.assert_array_equal(round_trip(scaler, tmp_path).transform(X), scaler.transform(X))
    series = X[:, :, 0].ravel()[:, None]
    windows = SlidingWindowTransformer(window_size=5).fit(series)
    np.testing.assert_array_equal(
        round_trip(windows, tmp_path).transform(series), windows.transform(series)
    )
    pipe = make_pipeline(SequenceScaler(), LSTMSequenceClassifier(**FAST)).fit(X, y)
    loaded = round_trip(pipe, tmp_path)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    table = make_pipeline(StandardScaler(), LSTMSequenceClassifier(**FAST)).fit(X[:, :, 0], y)
    loaded = round_trip(table, tmp_path)
    np.testing.assert_array_equal(
        loaded.predict_proba(X[:, :, 0]), table.predict_proba(X[:, :, 0])
    )
    assert type(loaded[0].n_samples_seen_) is type(table[0].n_samples_seen_)


def test_model_saved_from_cuda_loads_on_the_cpu(seq3d, tmp_path):
    X, y = seq3d
    clf = LSTMSequenceClassifier(**FAST).fit(X, y)
    # What a CUDA-trained model writes (its tensors are copied to the CPU on save).
    clf.set_params(device="cuda")
    clf.net_.device = "cuda"
    path = tmp_path / "cuda.safetensors"
    sklstm.save(clf, path)
    clf.net_.device = "cpu"
    if torch.cuda.is_available():
        loaded = sklstm.load(path, device="cpu")
    else:
        with pytest.warns(UserWarning, match="loaded on the CPU"):
            loaded = sklstm.load(path)
    assert loaded.net_.device == "cpu" and loaded.get_params()["device"] == "cuda"
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))


def test_parameters_that_are_not_data_are_refused_by_name(seq3d, tmp_path):
    X, y = seq3d
    clf = LSTMSequenceClassifier(callbacks=[EarlyStopping()], **FAST)
    with pytest.raises(TypeError, match=r"LSTMSequenceClassifier.callbacks\[0\].*None"):
        sklstm.save(clf, tmp_path / "m.safetensors")
    clf = LSTMSequenceClassifier(**{**FAST, "random_state": np.random.RandomState(0)})
    with pytest.raises(TypeError, match="random_state.*RandomState"):
        sklstm.save(clf, tmp_path / "m.safetensors")

    class MyOptimizer(torch.optim.SGD):
        pass

    with pytest.raises(TypeError, match="torch.optim"):
        sklstm.save(LSTMSequenceClassifier(optimizer=MyOptimizer), tmp_path / "m.safetensors")


class CreatesFile:
    """A pickle payload: unpickling it creates the file at ``path``."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_payload_is_live_when_unpickled(tmp_path):
    # The control for the next test: this payload does run when unpickled.
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(CreatesFile(marker))).close()
    assert marker.exists()


@pytest.mark.parametrize("writer", ["pickle", "torch"])
def test_crafted_files_are_refused_without_running_code(tmp_path, writer):
    marker = tmp_path / "ran"
    path = tmp_path / "model.safetensors"
    if writer == "pickle":
        path.write_bytes(pickle.dumps(CreatesFile(marker)))
    else:
        torch.save({"weights": CreatesFile(marker)}, path)
    with pytest.raises(ValueError, match="not an sklstm model file"):
        sklstm.load(path)
    assert not marker.exists()


def _write(path, header, arrays=None):
    arrays = arrays or {"a0": np.zeros(1)}
    save_file(arrays, str(path), metadata={"sklstm": json.dumps(header)})


def test_files_from_a_newer_format_and_damaged_files_are_refused(seq3d, tmp_path):
    X, y = seq3d
    path = tmp_path / "model.safetensors"
    sklstm.save(LSTMSequenceClassifier(**FAST).fit(X, y), path)
    data = path.read_bytes()

    with open(path, "rb") as f:
        length = int.from_bytes(f.read(8), "little")
        header = json.loads(json.loads(f.read(length))["__metadata__"]["sklstm"])
    newer = {**header, "format_version": 99, "sklstm_version": "9.0"}
    _write(tmp_path / "newer.safetensors", newer)
    with pytest.raises(ValueError, match="format 99.*Upgrade sklstm"):
        sklstm.load(tmp_path / "newer.safetensors")

    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not an sklstm model file"):
        sklstm.load(tmp_path / "cut.safetensors")

    save_file({"w": np.zeros(2)}, str(tmp_path / "plain.safetensors"))
    with pytest.raises(ValueError, match="not one written by sklstm.save"):
        sklstm.load(tmp_path / "plain.safetensors")


@pytest.mark.parametrize(
    "name", ["subprocess.Popen", "os.system", "sklearn.utils._joblib.Parallel", "sklearn.base.clone"]
)
def test_files_naming_other_classes_are_refused(tmp_path, name):
    header = {
        "format": "sklstm", "format_version": 1, "sklearn_version": sklearn.__version__,
        "estimator": {"~": "estimator", "class": name, "params": {}, "state": {}},
    }
    _write(tmp_path / "m.safetensors", header)
    with pytest.raises(ValueError, match="damaged"):
        sklstm.load(tmp_path / "m.safetensors")


def test_files_written_by_the_earlier_loader_still_load():
    # Written by sklstm before the closed schema (format 1, classes named by
    # module path); tests/data/format1_expected.npz holds their outputs then.
    data = Path(__file__).parent / "data"
    expected = np.load(data / "format1_expected.npz")
    clf = sklstm.load(data / "format1_classifier.safetensors")
    np.testing.assert_allclose(clf.predict_proba(expected["X"]), expected["proba"], rtol=1e-6)
    assert list(clf.classes_) == ["a", "b", "c"]
    pipe = sklstm.load(data / "format1_pipeline.safetensors")
    # They predate per-sequence normalization: their models read raw inputs,
    # whatever the regressor's default is now.
    assert clf.normalize is None and pipe[-1].normalize is None
    assert clf.normalize_ is None and pipe[-1].normalize_ is None
    # and the LSTM's stride: every step.
    assert clf.lstm_stride == 1 == pipe[-1].lstm_stride
    np.testing.assert_allclose(pipe.predict(expected["X"][:, :, 0]), expected["prediction"], rtol=1e-6)
    clf.partial_fit(expected["X"], clf.classes_[[0, 1, 2] * 4])  # and training goes on
