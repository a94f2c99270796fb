"""Faults during training, resuming from checkpoints, and concurrent use."""

import os
import sys
from concurrent.futures import ThreadPoolExecutor

import cloudpickle
import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback, Checkpoint, LoadInitState

from sklstm import LSTMSequenceClassifier, LSTMSequenceRegressor

FAST = dict(hidden_size=8, max_epochs=3, random_state=0)


def test_diverging_loss_stops_fit_with_an_error_naming_epoch_and_remedies(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(**FAST).fit(X, y)
    before = clf.predict_proba(X)
    clf.set_params(optimizer="sgd", lr=1e38, gradient_clip=None)
    with pytest.raises(ValueError, match=r"diverged in epoch \d+: the train loss became (nan|inf)") as info:
        clf.fit(X, y)
    message = str(info.value)
    assert "lower lr (now 1e+38)" in message and "gradient_clip" in message
    assert "SequenceScaler" in message
    assert isinstance(info.value, FloatingPointError)
    # The earlier model is left as it was, not replaced by one full of NaN.
    np.testing.assert_array_equal(clf.predict_proba(X), before)
    assert clf.n_iter_ == FAST["max_epochs"]
    # Also when the failed fit saw other classes and features.
    with pytest.raises(ValueError, match="diverged"):
        clf.fit(np.concatenate([X, X], axis=2), np.array(["a", "b", "c"])[np.arange(len(y)) % 3])
    assert list(clf.classes_) == [0, 1] and clf.n_features_in_ == X.shape[2]
    np.testing.assert_array_equal(clf.predict_proba(X), before)


def test_overflowing_outputs_are_an_error_not_nan_probabilities(seq3d):
    X, y = seq3d
    # One step of 1e30 leaves finite weights of about 1e30, whose
    # activations overflow to inf and then NaN at prediction.
    clf = LSTMSequenceClassifier(hidden_size=8, lr=1e30, max_epochs=1, batch_size=64)
    clf.fit(X, y)
    assert all(bool(p.isfinite().all()) for p in clf.net_.module_.parameters())
    with pytest.raises(ValueError, match=r"not finite.*lr \(this model: 1e\+30\)"):
        clf.predict_proba(X)
    with pytest.raises(ValueError, match="not finite"):
        clf.predict(X)


def test_a_fit_refused_for_bad_input_keeps_the_earlier_model(seq3d):
    X, y = seq3d
    reg = LSTMSequenceRegressor(**FAST).fit(X, y.astype(float))
    before = reg.predict(X)
    # The weights are checked after X, which has one feature here.
    with pytest.raises(ValueError, match="Negative values"):
        reg.fit(X[:, :, :1], np.ones((len(y), 2)), sample_weight=-np.ones(len(y)))
    assert reg.n_features_in_ == X.shape[2] and reg._y_1d
    np.testing.assert_array_equal(reg.predict(X), before)


class SpoilWeightAtLastBatch(Callback):
    """Writes ``value`` into one weight after a batch's loss was computed."""

    def __init__(self, value, where):
        self.value, self.where = value, where

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            with torch.no_grad():
                dict(net.module_.named_parameters())[self.where].view(-1)[-1] = self.value


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("where", ["head.bias", "lstms.0.0.weight_hh_l0"])
def test_weight_turning_non_finite_stops_fit(seq3d, value, where):
    X, y = seq3d
    spoil = SpoilWeightAtLastBatch(value, where)
    clf = LSTMSequenceClassifier(callbacks=[spoil], batch_size=len(X), **FAST)
    with pytest.raises(ValueError, match="diverged in epoch 1: a weight became NaN or inf"):
        clf.fit(X, y)
    assert not hasattr(clf, "net_")


class InterruptAtBatch(Callback):
    def __init__(self, epoch, batch):
        self.epoch, self.batch = epoch, batch

    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == self.epoch and len(net.history[-1]["batches"]) == self.batch:
            raise KeyboardInterrupt


def test_interrupt_within_an_epoch_keeps_a_usable_model(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(callbacks=[InterruptAtBatch(2, 1)], batch_size=8, **FAST)
    with pytest.warns(UserWarning, match="interrupted after 2 epoch"):
        clf.fit(X, y)
    assert clf.history_[0]["train_loss"] > 0
    assert len(clf.history_[-1]["batches"]) == 1  # the batches run so far
    proba = clf.predict_proba(X)
    assert np.all(np.isfinite(proba)) and np.allclose(proba.sum(axis=1), 1)


class InterruptAfterEpoch(Callback):
    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 2:
            raise KeyboardInterrupt


def test_training_resumes_from_a_skorch_checkpoint(seq3d, tmp_path):
    X, y = seq3d
    checkpoint = Checkpoint(monitor=None, dirname=str(tmp_path))
    first = LSTMSequenceClassifier(
        callbacks=[checkpoint, InterruptAfterEpoch()], **{**FAST, "max_epochs": 10}
    )
    with pytest.warns(UserWarning, match="interrupted"):
        first.fit(X, y)
    assert os.path.exists(tmp_path / "params.pt")

    resumed = LSTMSequenceClassifier(
        callbacks=[checkpoint, LoadInitState(checkpoint)], **{**FAST, "max_epochs": 2}
    ).fit(X, y)
    # The checkpoint's two epochs, then two more from its weights and optimizer.
    assert resumed.history_[:, "epoch"] == [1, 2, 3, 4]
    assert resumed.history_[:2, "train_loss"] == first.history_[:, "train_loss"]
    fresh = LSTMSequenceClassifier(**{**FAST, "max_epochs": 2}).fit(X, y)
    assert resumed.history_[2]["train_loss"] < fresh.history_[0]["train_loss"]


def test_predict_proba_from_many_threads_matches_single_thread(ragged):
    X, y = ragged
    clf = LSTMSequenceClassifier(**FAST).fit(X, y)
    expected = clf.predict_proba(X)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: clf.predict_proba(X), range(16)))
    for proba in results:
        np.testing.assert_array_equal(proba, expected)


def torch_threads(estimator, X, y):
    """A "score": torch's thread count where the estimator was scored."""
    return torch.get_num_threads()


def test_grid_search_in_two_processes_matches_one_and_shares_cores(seq3d):
    X, y = seq3d
    grid = {"hidden_size": [4, 8], "pooling": ["last", "mean_max"]}
    clf = LSTMSequenceClassifier(max_epochs=3, random_state=0)
    scoring = {"accuracy": "accuracy", "threads": torch_threads}
    serial = GridSearchCV(clf, grid, cv=2, n_jobs=1, scoring=scoring, refit="accuracy")
    parallel = GridSearchCV(clf, grid, cv=2, n_jobs=2, scoring=scoring, refit="accuracy")
    this_module = sys.modules[__name__]  # importable here, not in the workers
    cloudpickle.register_pickle_by_value(this_module)
    try:
        serial.fit(X, y)
        parallel.fit(X, y)
    finally:
        cloudpickle.unregister_pickle_by_value(this_module)
    assert parallel.best_params_ == serial.best_params_
    np.testing.assert_allclose(
        parallel.cv_results_["mean_test_accuracy"], serial.cv_results_["mean_test_accuracy"],
        atol=0.05,
    )
    # Each of the two worker processes runs torch on its share of the cores.
    share = max(1, joblib.cpu_count() // 2)
    assert set(parallel.cv_results_["mean_test_threads"]) == {share}
