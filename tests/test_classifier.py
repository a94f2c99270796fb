"""Behaviour of LSTMSequenceClassifier: labels, layouts, training options."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from skorch.callbacks import Callback, LRScheduler

import sklstm._base
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


@pytest.mark.parametrize(
    "pooling, bidirectional, conv_channels",
    [
        *[(p, b, None) for p in ("last", "mean", "max", "mean_max") for b in (False, True)],
        ("mean_max", True, (6, 4, 5, 3)),  # every kernel size, and one more layer
        ("last", False, (4,)),
    ],
)
def test_padding_never_changes_a_prediction(ragged, pooling, bidirectional, conv_channels):
    X, y = ragged
    clf = LSTMSequenceClassifier(
        hidden_size=(8, 6), pooling=pooling, bidirectional=bidirectional,
        conv_channels=conv_channels, max_epochs=3, random_state=0,
    ).fit(X, y)
    lengths = np.array([len(x) for x in X])
    short = X[int(np.argmin(lengths))]
    longer = [x for x in X if len(x) > len(short)][:5]
    alone = clf.predict_proba([short])
    in_batch = clf.predict_proba([*longer[:2], short, *longer[2:]])
    np.testing.assert_allclose(in_batch[2], alone[0], atol=1e-5, rtol=0)
    # Every row of a ragged batch equals that sequence predicted alone.
    batch = clf.predict_proba(X[:10])
    singles = np.vstack([clf.predict_proba([x]) for x in X[:10]])
    np.testing.assert_allclose(batch, singles, atol=1e-5, rtol=0)


def test_padding_values_are_ignored(ragged):
    """A sequence padded by hand differs from the ragged one: padding is data."""
    X, y = ragged
    clf = LSTMSequenceClassifier(**FAST).fit(X, y)
    short = X[0]
    padded = np.vstack([short, np.zeros((15 - len(short), 2), np.float32)])
    assert not np.allclose(clf.predict_proba([short]), clf.predict_proba([padded]))


def test_layouts_and_n_features_in(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(**FAST)
    assert clf.fit(X, y).n_features_in_ == 2
    # n_timesteps may differ between fit and predict for 3D input.
    assert clf.predict(np.concatenate([X, X], axis=1)).shape == (len(X),)
    # A 2D array is a table of univariate sequences: its width is checked.
    table = X[:, :, 0]
    assert clf.fit(table, y).n_features_in_ == 12
    with pytest.raises(ValueError, match="features"):
        clf.predict(table[:, :5])
    # A list of 1D arrays of different lengths: univariate sequences.
    ragged_1d = [row[: 5 + i % 7] for i, row in enumerate(table)]
    assert clf.fit(ragged_1d, y).n_features_in_ == 1
    # ... and equally long 1D arrays are sequences for a model fitted on them.
    assert clf.predict([row[:6] for row in table]).shape == (len(X),)
    # A 1D object array of 2D sequences.
    obj = np.empty(len(X), dtype=object)
    obj[:] = [x[: 4 + i % 5] for i, x in enumerate(X)]
    assert clf.fit(obj, y).n_features_in_ == 2


def test_list_of_equal_3d_sequences_matches_3d_array(seq3d):
    X, y = seq3d
    a = LSTMSequenceClassifier(**FAST).fit(X, y).predict_proba(X)
    b = LSTMSequenceClassifier(**FAST).fit(list(X), y).predict_proba(list(X))
    np.testing.assert_array_equal(a, b)


def test_dataframe_input_sets_feature_names(seq3d):
    pd = pytest.importorskip("pandas")
    X, y = seq3d
    df = pd.DataFrame(X[:, :, 0], columns=[f"t{i}" for i in range(12)])
    clf = LSTMSequenceClassifier(**FAST).fit(df, y)
    assert list(clf.feature_names_in_) == list(df.columns)
    with pytest.warns(UserWarning, match="fitted with feature names"):
        unnamed = clf.predict(df.to_numpy())
    np.testing.assert_array_equal(clf.predict(df), unnamed)
    # Refitting on 3D data forgets the column names.
    assert not hasattr(clf.fit(X, y), "feature_names_in_")


def test_same_random_state_gives_bit_identical_predictions(ragged):
    X, y = ragged
    params = dict(hidden_size=8, max_epochs=4, dropout=0.3, validation_fraction=0.25)
    p1 = LSTMSequenceClassifier(random_state=3, **params).fit(X, y).predict_proba(X)
    p2 = LSTMSequenceClassifier(random_state=3, **params).fit(X, y).predict_proba(X)
    p3 = LSTMSequenceClassifier(random_state=4, **params).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(p1, p2)
    assert not np.allclose(p1, p3)


def test_fit_leaves_torch_global_rng_untouched(seq3d):
    X, y = seq3d
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    LSTMSequenceClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(torch.rand(3), expected)


def _lstm_layers(clf):
    return [(layer[0].hidden_size, len(layer) == 2) for layer in clf.net_.module_.lstms]


def test_seed_design_lstm64_softmax_adam(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(
        hidden_size=64, bidirectional=False, pooling="last", optimizer="adam",
        max_epochs=30, random_state=0, conv_channels=None,
        lr_schedule="constant",
    ).fit(X, y)
    assert _lstm_layers(clf) == [(64, False)]
    assert len(clf.net_.module_.convs) == 0
    assert isinstance(clf.net_.optimizer_, torch.optim.Adam)
    assert clf.score(X, y) > 0.9


def test_seed_design_stacked_lstm_with_dropout(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(
        hidden_size=(128, 64), bidirectional=False, dropout=0.2, batch_size=32,
        pooling="last", max_epochs=30, random_state=0, conv_channels=None,
        lr_schedule="constant",
    ).fit(X, y)
    assert _lstm_layers(clf) == [(128, False), (64, False)]
    assert clf.net_.module_.dropout.p == 0.2
    assert clf.net_.batch_size == 32
    assert clf.history_[0, "train_batch_count"] == 2  # 48 samples, batches of 32
    assert clf.score(X, y) > 0.9


def test_seed_design_bilstm_rmsprop_validation_split(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(
        hidden_size=(64, 32), bidirectional=True, optimizer="rmsprop",
        validation_fraction=0.2, pooling="last", max_epochs=30, random_state=0,
        conv_channels=None, lr_schedule="constant",
    ).fit(X, y)
    assert _lstm_layers(clf) == [(64, True), (32, True)]
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


def test_cross_val_score_and_pipeline(seq3d):
    X, y = seq3d
    scores = cross_val_score(LSTMSequenceClassifier(**FAST), X, y, cv=3)
    assert scores.shape == (3,) and np.all((scores >= 0) & (scores <= 1))
    table = make_pipeline(StandardScaler(), LSTMSequenceClassifier(**FAST))
    assert table.fit(X[:, :, 0], y).predict(X[:, :, 0]).shape == (len(X),)
    seq = make_pipeline(FunctionTransformer(np.tanh), LSTMSequenceClassifier(**FAST))
    assert seq.fit(X, y).score(X, y) >= 0


def test_interrupted_training_leaves_a_usable_model(seq3d):
    X, y = seq3d

    class Interrupt(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                raise KeyboardInterrupt

    clf = LSTMSequenceClassifier(callbacks=[Interrupt()], **FAST)
    with pytest.warns(UserWarning, match="interrupted after 2 epoch"):
        clf.fit(X, y)
    assert clf.n_iter_ == 2
    assert np.all(np.isfinite(clf.predict_proba(X)))


def test_clone_gives_unfitted_copy_with_copied_callbacks(seq3d):
    X, y = seq3d
    marker = LRScheduler(policy="StepLR", step_size=1)
    clf = LSTMSequenceClassifier(callbacks=[marker], lr_schedule="constant", **FAST).fit(X, y)
    twin = clone(clf)
    assert not hasattr(twin, "net_")
    assert twin.get_params()["hidden_size"] == 8
    assert twin.callbacks[0] is not marker
    assert twin.callbacks[0].get_params()["step_size"] == 1


def test_pickle_round_trip_gives_identical_predictions(ragged):
    X, y = ragged
    clf = LSTMSequenceClassifier(**FAST).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.classes_, clf.classes_)
    assert len(restored.history_) == len(clf.history_)


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


def test_early_stopping_restores_the_best_weights(seq3d):
    X, y = seq3d
    # A constant lr: with the cosine schedule, a fit of fewer epochs would
    # anneal faster and reach other weights.
    params = dict(
        hidden_size=8, lr=0.05, lr_schedule="constant", validation_fraction=0.25,
        random_state=0,
    )
    clf = LSTMSequenceClassifier(
        early_stopping=True, n_iter_no_change=3, max_epochs=200, **params
    ).fit(X, y)
    best = dict(clf.net_.callbacks_)["early_stopping"].best_epoch_
    losses = clf.history_[:, "valid_loss"]
    assert losses[best - 1] == pytest.approx(min(losses), rel=1e-3)
    assert clf.n_iter_ == best + 3 < 200
    # The restored model is the one after the best epoch, bit for bit.
    at_best = LSTMSequenceClassifier(max_epochs=best, **params).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), at_best.predict_proba(X))


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


def test_device_cuda_without_cuda_is_a_clear_error(seq3d, monkeypatch):
    X, y = seq3d
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"device='cuda'.*no CUDA device"):
        LSTMSequenceClassifier(device="cuda", **FAST).fit(X, y)
    clf = LSTMSequenceClassifier(device="auto", **FAST).fit(X, y)
    assert clf.net_.device == "cpu"


def test_extra_callbacks_run_and_the_passed_ones_stay_untouched(seq3d):
    X, y = seq3d
    scheduler = LRScheduler(policy="StepLR", step_size=1, gamma=0.5)
    clf = LSTMSequenceClassifier(
        lr=0.01, lr_schedule="constant", callbacks=[scheduler], **FAST
    ).fit(X, y)
    lr_now = clf.net_.optimizer_.param_groups[0]["lr"]
    assert lr_now == pytest.approx(0.01 * 0.5**5)
    assert not hasattr(scheduler, "lr_scheduler_")  # the copy was used


@pytest.mark.parametrize("callbacks", [
    ["not a callback"], [("name",)], [(1, Callback())], [int], [("a", Callback(), 3)],
])
def test_callbacks_that_are_not_callbacks_are_a_clear_error(seq3d, callbacks):
    X, y = seq3d
    with pytest.raises(ValueError, match="callbacks must be a list of skorch callbacks"):
        LSTMSequenceClassifier(callbacks=callbacks, **FAST).fit(X, y)


def test_an_own_lr_scheduler_needs_the_constant_schedule(seq3d):
    X, y = seq3d
    scheduler = LRScheduler(policy="StepLR", step_size=1, gamma=0.5)
    clf = LSTMSequenceClassifier(callbacks=[("steps", scheduler)], **FAST)
    with pytest.raises(ValueError, match="lr_schedule='constant'"):
        clf.fit(X, y)


def test_cosine_schedule_anneals_the_lr_to_zero_step_by_step(seq3d):
    X, y = seq3d  # 48 sequences: 3 batches of 16 per epoch
    clf = LSTMSequenceClassifier(lr=0.01, batch_size=16, **FAST).fit(X, y)
    total = 5 * 3
    expected = [
        0.005 * (1 + np.cos(np.pi * (3 * epoch + 2) / total)) for epoch in range(5)
    ]  # the lr of each epoch's last step
    np.testing.assert_allclose(clf.history_[:, "lr"], expected, rtol=1e-12)
    assert clf.history_[0, "lr"] < 0.01 and clf.history_[-1, "lr"] < 1e-3
    # partial_fit trains at lr: the schedule belongs to a whole fit.
    clf.partial_fit(X, y)
    assert clf.net_.optimizer_.param_groups[0]["lr"] == 0.01
    assert "lr" not in clf.history_[-1]
    constant = LSTMSequenceClassifier(lr=0.01, lr_schedule="constant", **FAST).fit(X, y)
    assert constant.net_.optimizer_.param_groups[0]["lr"] == 0.01
    assert not np.allclose(constant.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("n_train, batch_size, epochs", [
    (36, 32, 1000), (40, 16, 667), (270, 32, 223), (10_000, 32, 100), (64_001, 32, 100),
])
def test_auto_epochs_give_2000_steps_and_at_least_100_epochs(n_train, batch_size, epochs):
    clf = LSTMSequenceClassifier(batch_size=batch_size)
    assert clf._epochs(n_train) == epochs
    assert LSTMSequenceClassifier(max_epochs=7)._epochs(n_train) == 7


def test_auto_epochs_count_the_training_split(seq3d, monkeypatch):
    X, y = seq3d  # 48 sequences, 36 for training after the split
    monkeypatch.setattr(sklstm._base, "AUTO_STEPS", 20)  # a short fit
    monkeypatch.setattr(sklstm._base, "AUTO_MIN_EPOCHS", 1)
    clf = LSTMSequenceClassifier(hidden_size=4, batch_size=12, random_state=0)
    assert clf.fit(X, y).n_iter_ == 5  # 4 batches per epoch
    assert clf.set_params(validation_fraction=0.25).fit(X, y).n_iter_ == 7  # 3 batches


def test_verbose_levels(seq3d, capsys):
    X, y = seq3d
    LSTMSequenceClassifier(verbose=0, **FAST).fit(X, y)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    LSTMSequenceClassifier(verbose=1, **FAST).fit(X, y)
    out = capsys.readouterr()
    assert "epoch" in out.out and "train_loss" in out.out
    assert out.out.count("\n") >= 5 + 2  # header, rule, one line per epoch
    LSTMSequenceClassifier(verbose=2, **FAST).fit(X, y)
    out = capsys.readouterr()
    assert "train_loss" in out.out
    assert "it/s]" in out.err or "s/it]" in out.err  # tqdm's progress bar


def test_warm_start_continues_training(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(warm_start=True, **FAST).fit(X, y)
    first = clf.net_.module_.head.weight.detach().clone()
    clf.fit(X, y)
    assert clf.n_iter_ == 10 and len(clf.history_) == 10
    cold = LSTMSequenceClassifier(**FAST).fit(X, y)
    # The second fit started from the first one's weights, not afresh.
    assert not torch.equal(clf.net_.module_.head.weight, first)
    assert not np.allclose(clf.predict_proba(X), cold.predict_proba(X))
    with pytest.raises(ValueError, match="shape"):
        clf.set_params(hidden_size=16).fit(X, y)
    with pytest.raises(ValueError, match="warm_start=False"):
        clf.set_params(hidden_size=8).fit(X, np.where(y == 0, 0, 2))


def test_partial_fit_trains_one_epoch_per_call(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(**FAST)
    clf.partial_fit(X[:24], y[:24])
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    clf.partial_fit(X[24:], y[24:])
    assert clf.n_iter_ == 2
    # Adam's state carries over: one step per batch of both calls.
    state = clf.net_.optimizer_.state[clf.net_.module_.head.weight]
    assert int(state["step"]) == 2
    with pytest.raises(ValueError, match="not among the classes"):
        clf.partial_fit(X[:4], np.array([0, 1, 2, 2]))
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :, :1], y)
    first = LSTMSequenceClassifier(**FAST).partial_fit(X[:4], y[:4], classes=[0, 1, 2])
    assert list(first.classes_) == [0, 1, 2]
    with pytest.raises(ValueError, match="classes contains only one class"):
        LSTMSequenceClassifier(**FAST).partial_fit(X[:4], np.zeros(4), classes=[0])


def test_hidden_size_rules(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(hidden_size=6, num_layers=3, max_epochs=1).fit(X, y)
    assert _lstm_layers(clf) == [(6, True)] * 3
    with pytest.raises(ValueError, match="num_layers=2 is ambiguous"):
        LSTMSequenceClassifier(hidden_size=(8, 4), num_layers=2).fit(X, y)
    for bad in [(), (8, 0), (8, 2.5), [True]]:
        with pytest.raises(ValueError, match="hidden_size must be"):
            LSTMSequenceClassifier(hidden_size=bad).fit(X, y)


def test_optimizer_choices(seq3d):
    X, y = seq3d
    sgd = LSTMSequenceClassifier(optimizer="sgd", **FAST).fit(X, y)
    assert sgd.net_.optimizer_.param_groups[0]["momentum"] == 0.9
    adagrad = LSTMSequenceClassifier(optimizer=torch.optim.Adagrad, **FAST).fit(X, y)
    assert isinstance(adagrad.net_.optimizer_, torch.optim.Adagrad)
    adamw = LSTMSequenceClassifier(optimizer="adamw", weight_decay=0.1, **FAST).fit(X, y)
    assert adamw.net_.optimizer_.param_groups[0]["weight_decay"] == 0.1
    with pytest.raises(ValueError, match="subclass of torch.optim.Optimizer"):
        LSTMSequenceClassifier(optimizer=dict).fit(X, y)


def test_float64_network(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(dtype="float64", **FAST).fit(X, y)
    assert all(p.dtype == torch.float64 for p in clf.net_.module_.parameters())
    assert clf.predict_proba(X).dtype == np.float64


def test_parameter_rules_raise_with_a_fix(seq3d):
    X, y = seq3d
    with pytest.raises(ValueError, match="set validation_fraction"):
        LSTMSequenceClassifier(early_stopping=True).fit(X, y)
    with pytest.raises(ValueError, match="validation_fraction=None"):
        LSTMSequenceClassifier(validation_fraction=0.01).fit(X, y)


def test_convolutional_block_beside_the_lstm(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(
        hidden_size=8, conv_channels=(6, 10, 4, 5), max_epochs=2, random_state=0
    ).fit(X, y)
    convs = [conv[1] for conv, _ in clf.net_.module_.convs]
    assert [c.kernel_size[0] for c in convs] == [8, 5, 3, 3]
    assert [c.out_channels for c in convs] == [6, 10, 4, 5]
    # The head reads the LSTM's mean and max (2 x 2 x 8) and the block's mean.
    assert clf.net_.module_.head.in_features == 32 + 5
    lstm_only = LSTMSequenceClassifier(hidden_size=8, conv_channels=None, max_epochs=1)
    assert lstm_only.fit(X, y).net_.module_.head.in_features == 32
    assert len(lstm_only.net_.module_.convs) == 0
    # A table of univariate sequences, and sequences shorter than a kernel.
    clf.fit(X[:, :3, 0], y)
    assert clf.predict_proba(X[:4, :3, 0]).shape == (4, 2)


@pytest.mark.parametrize("conv_channels", [(0,), (4, -1), ("8",), (True,), (2.5,)])
def test_bad_conv_channels(seq3d, conv_channels):
    X, y = seq3d
    with pytest.raises(ValueError, match="conv_channels must be None or a tuple of positive ints"):
        LSTMSequenceClassifier(conv_channels=conv_channels, max_epochs=1).fit(X, y)
