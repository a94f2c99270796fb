"""LSTMSequenceRegressor: what it learns, its targets, losses and round trips."""

import collections
import pickle

import numpy as np
import pytest
import torch
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from skorch.callbacks import Callback
from skorch.history import History

import sklstm
from sklstm import LSTMSequenceRegressor, SequenceScaler
from sklstm.datasets import make_sequence_regression

FAST = dict(hidden_size=16, max_epochs=30, random_state=0)


@pytest.fixture(scope="module")
def amplitudes():
    """300 sequences of 20 steps, 3 features; two targets (wave amplitudes)."""
    return make_sequence_regression(n_samples=300, n_targets=2, random_state=0)


def test_learns_a_sequence_level_target_on_held_out_data(amplitudes):
    X, Y = amplitudes
    y = Y[:, 0]
    reg = LSTMSequenceRegressor(**FAST).fit(X[:200], y[:200])
    pred = reg.predict(X[200:])
    assert pred.shape == (100,) and pred.dtype == np.float64
    assert reg.score(X[200:], y[200:]) > 0.9
    # The order of the steps carries the target: shuffled steps lose it.
    shuffled = X[200:, np.random.default_rng(0).permutation(20)]
    assert r2_score(y[200:], reg.predict(shuffled)) < reg.score(X[200:], y[200:]) - 0.2


def test_multi_output(amplitudes):
    X, Y = amplitudes
    reg = LSTMSequenceRegressor(**FAST).fit(X[:200], Y[:200])
    assert reg.n_outputs_ == 2
    pred = reg.predict(X[200:])
    assert pred.shape == (100, 2)
    assert np.all(r2_score(Y[200:], pred, multioutput="raw_values") > 0.6)
    # A column vector stays 2D, as in scikit-learn.
    column = LSTMSequenceRegressor(**FAST).fit(X[:50], Y[:50, :1])
    assert column.predict(X[:5]).shape == (5, 1)


@pytest.mark.parametrize("layout", ["table", "ragged"])
def test_table_and_ragged_input(layout):
    X, y = make_sequence_regression(
        n_samples=300, n_features=1, min_timesteps=None if layout == "table" else 12,
        random_state=1,
    )
    if layout == "table":
        X = X[:, :, 0]
    reg = LSTMSequenceRegressor(**FAST).fit(X[:200], y[:200])
    assert reg.score(X[200:], y[200:]) > 0.8
    if layout == "ragged":  # a sequence's prediction does not depend on its batch
        one = np.concatenate([reg.predict([x]) for x in X[200:210]])
        np.testing.assert_allclose(one, reg.predict(X[200:210]), rtol=1e-5, atol=1e-6)


def test_targets_are_standardized_so_their_scale_does_not_matter(amplitudes):
    X, Y = amplitudes
    y = Y[:100, 0]
    small = LSTMSequenceRegressor(**FAST).fit(X[:100], y)
    large = LSTMSequenceRegressor(**FAST).fit(X[:100], y * 1e6 + 5e5)
    np.testing.assert_allclose(
        large.predict(X[200:]), small.predict(X[200:]) * 1e6 + 5e5, rtol=1e-5
    )
    np.testing.assert_allclose(large.history_[:, "train_loss"], small.history_[:, "train_loss"], rtol=1e-4)


def test_constant_target_is_predicted_as_it_is(amplitudes):
    X, _ = amplitudes
    # The LSTM alone: batch norm's running statistics (the block's and the
    # normalization's) would add their own lag to this check of the scale.
    plain = dict(hidden_size=4, conv_channels=None, normalize=None, max_epochs=30)
    for loss in ("squared_error", "huber"):  # no division by a zero scale
        reg = LSTMSequenceRegressor(**plain, loss=loss, random_state=0)
        reg.fit(X[:20], np.full(20, 7.5))
        assert reg._y_scale[0] == 1.0
        np.testing.assert_allclose(reg.predict(X[200:]), 7.5, atol=0.1)


@pytest.mark.parametrize(
    "loss, criterion",
    [
        ("squared_error", torch.nn.MSELoss),
        ("absolute_error", torch.nn.L1Loss),
        ("huber", torch.nn.HuberLoss),
    ],
)
def test_loss_choice(amplitudes, loss, criterion):
    X, Y = amplitudes
    reg = LSTMSequenceRegressor(hidden_size=4, max_epochs=1, loss=loss).fit(X[:20], Y[:20, 0])
    assert type(reg.net_.criterion_) is criterion


def test_robust_losses_resist_outliers_in_y(amplitudes):
    X, Y = amplitudes
    y = Y[:, 0].copy()
    y_train = y[:200].copy()
    y_train[::10] += 50  # one target in ten is grossly wrong
    # The LSTM alone, whose capacity is too small to memorize the outliers:
    # what is compared is the losses' pull.
    plain = dict(FAST, conv_channels=None, normalize=None, early_stopping=False)
    scores = {
        loss: LSTMSequenceRegressor(**plain, loss=loss).fit(X[:200], y_train).score(X[200:], y[200:])
        for loss in ("squared_error", "absolute_error", "huber")
    }
    # The squared error follows the outliers (R^2 far below 0); the absolute
    # error, whose clean samples pull as hard as the outliers, ignores them;
    # the Huber loss bounds each outlier's pull and lands in between.
    assert scores["squared_error"] < 0
    assert scores["absolute_error"] > 0.8
    assert scores["huber"] > 0.3


def test_sample_weight_zero_equals_leaving_samples_out(amplitudes):
    X, Y = amplitudes
    y = Y[:40, 0]
    weight = np.r_[np.ones(30), np.zeros(10)]
    params = dict(hidden_size=8, max_epochs=5, batch_size=64, dtype="float64", random_state=0)
    weighted = LSTMSequenceRegressor(**params).fit(X[:40], y, sample_weight=weight)
    dropped = LSTMSequenceRegressor(**params).fit(X[:30], y[:30])
    np.testing.assert_allclose(weighted.predict(X[200:]), dropped.predict(X[200:]), rtol=1e-7)


def test_early_stopping_on_a_random_validation_split(amplitudes):
    X, Y = amplitudes
    reg = LSTMSequenceRegressor(
        hidden_size=8, max_epochs=200, validation_fraction=0.2, early_stopping=True,
        n_iter_no_change=3, random_state=0,
    ).fit(X[:100], Y[:100, 0])
    assert reg.n_iter_ < 200
    assert "valid_loss" in reg.history_[-1] and "valid_acc" not in reg.history_[-1]


AUTO = dict(hidden_size=8, conv_channels=None, max_epochs=200, random_state=0)


def test_auto_early_stopping_stays_near_the_mean_on_noise(amplitudes):
    # Targets unrelated to the sequences: a fit of the whole budget learns
    # the noise; "auto" stops within a few epochs of predicting the mean.
    X, _ = amplitudes
    noise = np.random.default_rng(0).normal(5.0, 2.0, size=300)
    auto = LSTMSequenceRegressor(**AUTO).fit(X[:200], noise[:200])
    assert "valid_loss" in auto.history_[-1]  # the early-stopped first fit is the model
    assert auto.n_iter_ < 100
    full = LSTMSequenceRegressor(early_stopping=False, **AUTO).fit(X[:200], noise[:200])
    assert "valid_loss" not in full.history_[-1] and full.n_iter_ == 200
    spread = {name: est.predict(X[200:]).std() for name, est in [("auto", auto), ("full", full)]}
    assert spread["auto"] < 0.7 * spread["full"]
    rmse = {
        name: np.sqrt(np.mean((est.predict(X[200:]) - noise[200:]) ** 2))
        for name, est in [("auto", auto), ("full", full)]
    }
    assert rmse["auto"] < rmse["full"]
    # The early-stopped model round-trips as any other.
    restored = pickle.loads(pickle.dumps(auto))
    np.testing.assert_array_equal(restored.predict(X[200:]), auto.predict(X[200:]))
    assert restored.history_[-1, "valid_loss"] == auto.history_[-1, "valid_loss"]


class RecordWeights(Callback):
    def on_train_begin(self, net, **kwargs):
        self.weights_ = []

    def on_epoch_end(self, net, **kwargs):
        self.weights_.append({k: v.clone() for k, v in net.module_.state_dict().items()})


def test_auto_early_stopping_averages_the_epochs_around_the_best(amplitudes, monkeypatch):
    # The kept first fit's weights are the mean of those of the epochs up
    # to 25 either side of its best (the patience, a tenth of 300, is 30).
    X, _ = amplitudes
    noise = np.random.default_rng(0).normal(5.0, 2.0, size=200)
    statistics_of = []  # the data the batch norms' final statistics are taken on
    original = sklstm._net.SequenceNet.set_population_statistics
    monkeypatch.setattr(
        sklstm._net.SequenceNet, "set_population_statistics",
        lambda net, data, size: statistics_of.append(len(data)) or original(net, data, size),
    )
    params = dict(AUTO, max_epochs=300, callbacks=[RecordWeights()])
    reg = LSTMSequenceRegressor(**params).fit(X[:200], noise)
    assert "valid_loss" in reg.history_[-1]
    assert statistics_of == [160]  # once, on the first fit's training split: not the held out
    best = int(np.argmin(reg.history_[:, "valid_loss"]))
    assert reg.n_iter_ == best + 31
    weights = reg.net_.callbacks_[-1][1].weights_[max(0, best - 25): best + 26]
    # The weights; the batch norms' statistics are then those of the
    # averaged weights on the training data (tests/test_module.py).
    for key, value in reg.net_.module_.named_parameters():
        expected = torch.stack([w[key] for w in weights]).double().mean(0).float()
        torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-7)
    head = reg.net_.module_.head.weight
    assert not torch.allclose(head, weights[min(best, 25)]["head.weight"])  # not the best alone


class InterruptFirstBatch(Callback):
    def on_batch_end(self, net, **kwargs):
        raise KeyboardInterrupt


def test_auto_early_stopping_interrupted_in_its_first_epoch_keeps_the_weights(amplitudes):
    # No epoch ended, so no validation loss: nothing to average, and the
    # interruption is not masked by an error.
    X, Y = amplitudes
    reg = LSTMSequenceRegressor(**dict(AUTO, callbacks=[InterruptFirstBatch()]))
    with pytest.warns(UserWarning, match="interrupted"):
        reg.fit(X[:100], Y[:100, 0])
    assert reg.n_iter_ == 1 and "valid_loss" not in reg.history_[-1]
    assert np.isfinite(reg.predict(X[100:])).all()


def test_signal_probe_averages_up_to_the_last_epoch():
    # Training that ends within ``average`` epochs of the best averages the
    # epochs from best - average to the last; one that goes on past
    # best + average keeps that window's average.
    from sklstm._callbacks import SignalProbe

    class Net:
        verbose = 0
        module_ = torch.nn.Linear(1, 1, bias=False)

    for losses, average, expected in [([5, 4, 3, 2, 1], 2, 3.0), ([3, 1, 2, 4, 5, 6], 2, 1.5)]:
        probe, net = SignalProbe(valid=None, start=0, average=average), Net()
        probe.refit_, probe.baseline_ = False, 0.0
        probe.recent_ = collections.deque(maxlen=2 * average + 1)
        net.history = History()
        for epoch, loss in enumerate(losses):
            net.history.new_epoch()
            net.history.record("valid_loss", loss)
            net.module_.weight.data.fill_(epoch)
            probe.on_epoch_end(net)
        probe.on_train_end(net)
        assert probe.averaged_["weight"].item() == expected


def test_auto_early_stopping_starts_from_the_mean():
    # A learning rate too small to move the weights: the first fit predicts
    # the training mean (its output layer starts at zeros), then stops.
    X = np.random.default_rng(0).normal(size=(60, 10, 2))
    y = np.random.default_rng(1).normal(3.0, 1.0, size=60)
    reg = LSTMSequenceRegressor(**{**AUTO, "lr": 1e-30}).fit(X, y)
    assert "valid_loss" in reg.history_[-1]
    np.testing.assert_allclose(reg.predict(X), y.mean(), rtol=1e-6)


def test_auto_early_stopping_refits_on_all_data_when_there_is_a_signal(amplitudes):
    # A target the network learns well: the first fit ends once its
    # validation loss is below half the mean's, and the model is the one
    # early_stopping=False trains on all the data, bit for bit.
    X, Y = amplitudes
    params = dict(hidden_size=16, max_epochs=30, random_state=0)
    auto = LSTMSequenceRegressor(**params).fit(X[:200], Y[:200, 0])
    full = LSTMSequenceRegressor(early_stopping=False, **params).fit(X[:200], Y[:200, 0])
    assert "valid_loss" not in auto.history_[-1] and auto.n_iter_ == 30
    np.testing.assert_array_equal(auto.predict(X[200:]), full.predict(X[200:]))


def test_auto_early_stopping_is_skipped_on_small_data_and_continuations(amplitudes):
    X, Y = amplitudes
    y = Y[:, 0]
    params = dict(hidden_size=8, max_epochs=3, random_state=0)
    # 45 sequences: a fifth is 9, too few to judge the validation loss by.
    small = LSTMSequenceRegressor(**params).fit(X[:45], y[:45])
    plain = LSTMSequenceRegressor(early_stopping=False, **params).fit(X[:45], y[:45])
    np.testing.assert_array_equal(small.predict(X[200:]), plain.predict(X[200:]))
    warm = LSTMSequenceRegressor(warm_start=True, **params).fit(X[:100], y[:100])
    first = warm.n_iter_
    warm.fit(X[:100], y[:100])
    assert warm.n_iter_ == first + 3 and "valid_loss" not in warm.history_[-1]
    reg = LSTMSequenceRegressor(**params).partial_fit(X[:100], y[:100])
    assert reg.n_iter_ == 1


def test_auto_early_stopping_uses_the_validation_fraction(amplitudes):
    X, Y = amplitudes
    noise = np.random.default_rng(0).normal(size=100)
    reg = LSTMSequenceRegressor(validation_fraction=0.5, **AUTO).fit(X[:100], noise)
    assert "valid_loss" in reg.history_[-1]  # the first fit: half to train, half to validate
    batches = reg.history_[-1, "batches"]
    assert sum(b.get("train_batch_size", 0) for b in batches) == 50
    assert sum(b.get("valid_batch_size", 0) for b in batches) == 50


def test_partial_fit_and_warm_start_keep_the_target_scale(amplitudes):
    X, Y = amplitudes
    reg = LSTMSequenceRegressor(hidden_size=8, random_state=0)
    reg.partial_fit(X[:50], Y[:50, 0])
    center = reg._y_center.copy()
    reg.partial_fit(X[50:100], Y[50:100, 0] + 10)
    np.testing.assert_array_equal(reg._y_center, center)
    assert reg.n_iter_ == 2
    with pytest.raises(ValueError, match="y has 2 target.*earlier fit had 1"):
        reg.partial_fit(X[:50], Y[:50])
    warm = LSTMSequenceRegressor(hidden_size=8, max_epochs=2, warm_start=True, random_state=0)
    warm.fit(X[:50], Y[:50, 0]).fit(X[:50], Y[:50, 0])
    assert warm.n_iter_ == 4


@pytest.mark.parametrize(
    "y, match",
    [
        (np.r_[np.nan, np.ones(9)], "NaN"),
        (np.ones((10, 2, 2)), "y must be 1D"),
        (np.array(["a", "b"] * 5), "Convert your data to numeric values"),
        (np.ones(9), "inconsistent numbers of samples"),
    ],
)
def test_bad_targets(amplitudes, y, match):
    X, _ = amplitudes
    with pytest.raises(ValueError, match=match):
        LSTMSequenceRegressor(hidden_size=4, max_epochs=1).fit(X[:10], y)


def test_invalid_loss_names_the_options(amplitudes):
    X, Y = amplitudes
    with pytest.raises(ValueError, match="'loss' parameter of LSTMSequenceRegressor must be"):
        LSTMSequenceRegressor(loss="hinge").fit(X[:10], Y[:10, 0])


def test_grid_search_in_a_pipeline(amplitudes):
    X, Y = amplitudes
    search = GridSearchCV(
        make_pipeline(SequenceScaler(), LSTMSequenceRegressor(hidden_size=8, max_epochs=5, random_state=0)),
        {"lstmsequenceregressor__loss": ["squared_error", "huber"]},
        cv=2,
    ).fit(X[:60], Y[:60])
    # Both losses reached the network: they score differently.
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and scores[0] != scores[1]
    # The refit model is the pipeline with the best loss, fitted on all the data.
    direct = make_pipeline(
        SequenceScaler(), LSTMSequenceRegressor(hidden_size=8, max_epochs=5, random_state=0)
    ).set_params(**search.best_params_).fit(X[:60], Y[:60])
    np.testing.assert_array_equal(search.predict(X[:4]), direct.predict(X[:4]))
    assert search.predict(X[:4]).shape == (4, 2)


@pytest.mark.parametrize("targets", [1, 2])
def test_save_and_load_round_trip(amplitudes, tmp_path, targets):
    X, Y = amplitudes
    y = Y[:60, 0] if targets == 1 else Y[:60]
    reg = LSTMSequenceRegressor(hidden_size=8, max_epochs=2, loss="huber", random_state=0).fit(X[:60], y)
    path = tmp_path / "regressor.safetensors"
    sklstm.save(reg, path)
    loaded = sklstm.load(path)
    np.testing.assert_array_equal(loaded.predict(X[200:]), reg.predict(X[200:]))
    assert loaded.get_params() == reg.get_params() and loaded.n_outputs_ == reg.n_outputs_


@pytest.mark.parametrize("targets, layout", [(1, "sequences"), (2, "sequences"), (1, "table")])
def test_onnx_export_matches_predict(amplitudes, tmp_path, targets, layout):
    onnxruntime = pytest.importorskip("onnxruntime")
    X, Y = amplitudes
    X = X[:, :, :1] if layout == "sequences" else X[:, :, 0]
    y = Y[:60, 0] * 100 + 3 if targets == 1 else Y[:60]
    reg = LSTMSequenceRegressor(hidden_size=8, max_epochs=2, random_state=0).fit(X[:60], y)
    path = tmp_path / "regressor.onnx"
    sklstm.export_onnx(reg, path)
    session = onnxruntime.InferenceSession(str(path))
    for batch in (X[200:], X[200:203]):
        (got,) = session.run(["prediction"], {"x": np.ascontiguousarray(batch)})
        np.testing.assert_allclose(got, reg.predict(batch), rtol=1e-4, atol=1e-4)


def test_convolutional_block(amplitudes):
    X, Y = amplitudes
    reg = LSTMSequenceRegressor(**FAST, conv_channels=(16, 16)).fit(X[:200], Y[:200, 0])
    # The LSTM's mean and max (2 x 2 x 16), the block's mean (16), and each
    # feature's mean and log standard deviation (2 x 3).
    assert reg.net_.module_.head.in_features == 4 * 16 + 16 + 2 * 3
    assert reg.score(X[200:], Y[200:, 0]) > 0.9
