"""Behaviour of LSTMSequenceClassifier: labels, layouts, training options."""

import pickle

import numpy as np
import pytest
import torch
from _tasks import lstm_layers
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from skorch.callbacks import Callback

from sklstm import LSTMSequenceClassifier

FAST = dict(hidden_size=8, max_epochs=5, random_state=0)


def test_predict_returns_labels_with_the_dtype_of_y(seq3d):
    X, y = seq3d
    for labels in (np.array(["cat", "dog"]), np.array([10, 20]), np.array([-1.0, 2.0])):
        y_named = labels[y]
        clf = LSTMSequenceClassifier(**FAST).fit(X, y_named)
        assert clf.classes_.dtype == y_named.dtype
        pred = clf.predict(X)
        assert pred.dtype == y_named.dtype
        assert set(pred) <= set(labels)


def test_object_labels_and_multiclass_probabilities(ragged):
    X, y = ragged
    y_obj = np.array(["a", "b", "c"], dtype=object)[y]
    clf = LSTMSequenceClassifier(**FAST).fit(X, y_obj)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(clf.classes_) == ["a", "b", "c"]
    assert clf.predict(X).dtype == object


def test_seed_design_lstm64_softmax_adam(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(
        hidden_size=64, bidirectional=False, pooling="last", optimizer="adam",
        max_epochs=30, random_state=0, conv_channels=None,
        lr_schedule="constant", normalize=None,
    ).fit(X, y)
    assert lstm_layers(clf) == [(64, False)]
    assert len(clf.net_.module_.convs) == 0
    assert isinstance(clf.net_.optimizer_, torch.optim.Adam)
    assert clf.score(X, y) > 0.9


def test_seed_design_stacked_lstm_with_dropout(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(
        hidden_size=(128, 64), bidirectional=False, dropout=0.2, batch_size=32,
        pooling="last", max_epochs=30, random_state=0, conv_channels=None,
        lr_schedule="constant", normalize=None,
    ).fit(X, y)
    assert lstm_layers(clf) == [(128, False), (64, False)]
    assert clf.net_.module_.dropout.p == 0.2
    assert clf.net_.batch_size == 32
    assert clf.history_[0, "train_batch_count"] == 2  # 48 samples, batches of 32
    assert clf.score(X, y) > 0.9


def test_seed_design_bilstm_rmsprop_validation_split(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(
        hidden_size=(64, 32), bidirectional=True, optimizer="rmsprop",
        validation_fraction=0.2, pooling="last", max_epochs=30, random_state=0,
        conv_channels=None, lr_schedule="constant", normalize=None,
    ).fit(X, y)
    assert lstm_layers(clf) == [(64, True), (32, True)]
    assert isinstance(clf.net_.optimizer_, torch.optim.RMSprop)
    assert {"train_loss", "valid_loss", "valid_acc"} <= set(clf.history_[-1])
    assert sum(clf.history_[-1, "batches", :, "valid_batch_size"]) == 10  # 20% of 48
    assert clf.history_[-1, "valid_acc"] > 0.8


def test_grid_search_in_parallel_over_architecture(seq3d):
    X, y = seq3d
    grid = GridSearchCV(
        LSTMSequenceClassifier(lr=0.01, max_epochs=20, random_state=0),
        {
            "hidden_size": [8, (8, 8)],
            "bidirectional": [False, True],
            "optimizer": ["adam", "rmsprop"],
            "pooling": ["last", "mean_max"],
        },
        cv=StratifiedKFold(2),
        n_jobs=2,
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 16
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.best_score_ > 0.6
    assert grid.predict(X).shape == (len(X),)


def test_pickle_keeps_the_classes(ragged):
    X, y = ragged
    clf = LSTMSequenceClassifier(**FAST).fit(X, np.array(["a", "b", "c"])[y])
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.classes_, ["a", "b", "c"])
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))


def test_validation_split_is_stratified(ragged):
    X, y = ragged  # 16 sequences per class

    class ValidLabels(Callback):
        def on_train_begin(self, net, **kwargs):
            self.labels = None

        def on_epoch_end(self, net, dataset_valid=None, **kwargs):
            self.labels = dataset_valid.y[dataset_valid.index]

    clf = LSTMSequenceClassifier(
        validation_fraction=0.25, callbacks=[("valid_labels", ValidLabels())], **FAST
    ).fit(X, y)
    labels = dict(clf.net_.callbacks_)["valid_labels"].labels
    assert np.bincount(labels).tolist() == [4, 4, 4]


def test_class_weight_equals_the_matching_sample_weight(seq3d):
    X, y = seq3d
    by_class = LSTMSequenceClassifier(class_weight={0: 3.0, 1: 0.5}, **FAST).fit(X, y)
    by_sample = LSTMSequenceClassifier(**FAST).fit(
        X, y, sample_weight=np.where(y == 0, 3.0, 0.5)
    )
    np.testing.assert_array_equal(by_class.predict_proba(X), by_sample.predict_proba(X))
    unit = LSTMSequenceClassifier(**FAST).fit(X, y, sample_weight=np.ones(len(y)))
    plain = LSTMSequenceClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(unit.predict_proba(X), plain.predict_proba(X))


def test_balanced_class_weight_helps_the_minority_class(seq3d):
    X, y = seq3d
    keep = np.r_[np.flatnonzero(y == 0), np.flatnonzero(y == 1)[:4]]
    Xi, yi = X[keep], y[keep]  # 24 against 4
    params = dict(hidden_size=8, max_epochs=10, random_state=0)
    plain = LSTMSequenceClassifier(**params).fit(Xi, yi)
    balanced = LSTMSequenceClassifier(class_weight="balanced", **params).fit(Xi, yi)
    minority = yi == 1
    assert (
        balanced.predict_proba(Xi[minority])[:, 1].mean()
        > plain.predict_proba(Xi[minority])[:, 1].mean()
    )


def test_warm_start_refuses_new_classes_and_names_the_fix(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(warm_start=True, **FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"labels \[2\] that are not among .* warm_start=False"):
        clf.fit(X, np.where(y == 0, 0, 2))
    np.testing.assert_array_equal(clf.classes_, [0, 1])  # the failed fit changed nothing


def test_partial_fit_learns_the_classes_on_its_first_call(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(**FAST)
    clf.partial_fit(X[:24], y[:24])
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    with pytest.raises(ValueError, match=r"labels \[2\] that are not among .* in `classes`"):
        clf.partial_fit(X[:4], np.array([0, 1, 2, 2]))
    first = LSTMSequenceClassifier(**FAST).partial_fit(X[:4], y[:4], classes=[0, 1, 2])
    assert list(first.classes_) == [0, 1, 2]
    assert first.predict_proba(X[:4]).shape == (4, 3)
    with pytest.raises(ValueError, match="classes contains only one class"):
        LSTMSequenceClassifier(**FAST).partial_fit(X[:4], np.zeros(4), classes=[0])


def test_a_validation_split_too_small_to_stratify_names_the_fix(seq3d):
    X, y = seq3d
    with pytest.raises(ValueError, match="cannot hold out a stratified validation set.*more samples per class"):
        LSTMSequenceClassifier(validation_fraction=0.01).fit(X, y)


def test_a_class_weight_beyond_float64_is_a_clear_error(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(hidden_size=4, max_epochs=1, class_weight={0: 10**400, 1: 1.0})
    with pytest.raises(ValueError, match="class_weight holds a weight that is not a float64"):
        clf.fit(X, y)
