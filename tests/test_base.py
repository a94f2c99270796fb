"""Behaviour both estimators share through BaseLSTMSequence, tested on each.

Fitting, layouts, padding, seeding, callbacks, schedules, warm starts and
parameter rules live in the base class; every test here runs on the
classifier (class labels) and on the regressor (the same numbers as real
targets).
"""

import pickle

import numpy as np
import pytest
import torch
from _tasks import lstm_layers, outputs, targets
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from skorch.callbacks import Callback, LRScheduler

import sklstm
import sklstm._base
import sklstm._data

# The training mechanisms are tested on plain fits: the regressor's
# early_stopping="auto" has its own tests in test_regressor.py.
FAST = dict(hidden_size=8, max_epochs=5, random_state=0, early_stopping=False)


@pytest.fixture
def data(Estimator, seq3d):
    X, labels = seq3d
    return X, targets(Estimator, labels)


@pytest.fixture
def ragged_data(Estimator, ragged):
    X, labels = ragged
    return X, targets(Estimator, labels)


# -- layouts and padding -------------------------------------------------------


@pytest.mark.parametrize(
    "pooling, bidirectional, conv_channels, normalize, lstm_stride",
    [
        *[(p, b, None, None, 1) for p in ("last", "mean", "max", "mean_max") for b in (False, True)],
        ("mean_max", True, (6, 4, 5, 3), None, 1),  # every kernel size, and one more layer
        ("last", False, (4,), None, 1),
        ("mean_max", True, (4, 3), "per_sequence", 1),
        ("last", False, None, "per_sequence", 1),
        ("mean_max", True, (4, 3), None, 4),  # windows of 4 steps, partial ones too
        ("last", False, None, "per_sequence", 3),
        ("mean_max", True, (4, 3), "both", 1),
        ("last", False, None, "both", 3),
    ],
)
def test_padding_never_changes_a_prediction(
    Estimator, ragged_data, pooling, bidirectional, conv_channels, normalize, lstm_stride
):
    X, y = ragged_data
    est = Estimator(
        hidden_size=(8, 6), pooling=pooling, bidirectional=bidirectional,
        conv_channels=conv_channels, normalize=normalize, lstm_stride=lstm_stride,
        max_epochs=3, random_state=0,
    ).fit(X, y)
    assert est.net_.module_.lstm_stride == lstm_stride
    lengths = np.array([len(x) for x in X])
    short = X[int(np.argmin(lengths))]
    longer = [x for x in X if len(x) > len(short)][:5]
    alone = outputs(est, [short])
    in_batch = outputs(est, [*longer[:2], short, *longer[2:]])
    np.testing.assert_allclose(in_batch[2], alone[0], atol=1e-5, rtol=0)
    # Every row of a ragged batch equals that sequence predicted alone.
    batch = outputs(est, X[:10])
    singles = np.concatenate([outputs(est, [x]) for x in X[:10]])
    np.testing.assert_allclose(batch, singles, atol=1e-5, rtol=0)


def test_bfloat16_autocast_pads_exactly_up_to_its_rounding(Estimator, ragged_data):
    X, y = ragged_data
    est = Estimator(
        hidden_size=(8, 6), conv_channels=(4, 3), lstm_stride=2, autocast="bfloat16",
        max_epochs=3, random_state=0,
    ).fit(X, y)
    module = est.net_.module_
    assert module.autocast is torch.bfloat16
    mixed = outputs(est, X[:10])
    # bfloat16 keeps 8 bits of mantissa: results move by about 1e-3 of
    # their size, with the batch's shape as with the precision.
    scale = 1 + np.abs(mixed).max()
    singles = np.concatenate([outputs(est, [x]) for x in X[:10]])
    np.testing.assert_allclose(mixed, singles, rtol=0, atol=5e-3 * scale)
    module.autocast = None
    full = outputs(est, X[:10])
    module.autocast = torch.bfloat16
    np.testing.assert_allclose(mixed, full, rtol=0, atol=5e-3 * scale)
    assert np.abs(mixed - full).max() > 1e-6  # it did compute in bfloat16


def test_bfloat16_autocast_trains_with_sample_weights_and_keeps_float32_statistics(
    Estimator, data
):
    # Weighted batches take the block's own batch norm, whose sums over the
    # batch are formed in float32 from the bfloat16 convolutions.
    X, y = data
    weights = np.linspace(0.5, 2.0, len(y))
    est = Estimator(**FAST, conv_channels=(4,), autocast="bfloat16").fit(X, y, sample_weight=weights)
    norm = est.net_.module_.convs[0][1]
    assert norm.running_mean.dtype == torch.float32 and torch.isfinite(norm.running_var).all()
    assert np.isfinite(outputs(est, X)).all()


def test_autocast_needs_float32_weights(Estimator, ragged_data):
    X, y = ragged_data
    with pytest.raises(ValueError, match="Set dtype='float32' or autocast=None"):
        Estimator(autocast="bfloat16", dtype="float64", **FAST).fit(X, y)


@pytest.mark.parametrize("native", [True, False])
def test_auto_autocast_trains_in_bfloat16_where_the_cpu_has_it_and_predicts_in_float32(
    Estimator, ragged_data, monkeypatch, native
):
    X, y = ragged_data
    monkeypatch.setattr(sklstm._base, "native_bfloat16", lambda: native)
    monkeypatch.setattr(sklstm._base, "AUTOCAST_MIN_STEPS", 1)  # the fixture's are short
    params = dict(FAST, conv_channels=(4, 3), max_epochs=3)
    auto = Estimator(**params, autocast="auto").fit(X, y)
    module = auto.net_.module_
    if not native:
        assert auto.autocast_ is None and module.autocast is None
        plain = Estimator(**params, autocast=None).fit(X, y)
        np.testing.assert_array_equal(outputs(auto, X), outputs(plain, X))
        return
    assert auto.autocast_ == "bfloat16" and module.autocast is torch.bfloat16
    assert not module.autocast_inference
    # The same training computation as autocast="bfloat16": the same weights.
    mixed = Estimator(**params, autocast="bfloat16").fit(X, y)
    for a, b in zip(module.parameters(), mixed.net_.module_.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    # Predictions compute in float32: the weights read without autocast.
    # (With autocast at prediction too, "bfloat16" took its batch norms'
    # final statistics in bfloat16: the same state for both here.)
    predicted = outputs(auto, X)
    mixed.net_.module_.load_state_dict(module.state_dict())
    mixed.net_.module_.autocast = None
    np.testing.assert_array_equal(predicted, outputs(mixed, X))
    # ...and the training did compute in bfloat16.
    plain = Estimator(**params, autocast=None).fit(X, y)
    assert np.abs(predicted - outputs(plain, X)).max() > 1e-6
    # A pickle keeps the choice, and predicts in float32 as the original does.
    copy = pickle.loads(pickle.dumps(auto))
    assert copy.autocast_ == "bfloat16" and not copy.net_.module_.autocast_inference
    np.testing.assert_array_equal(outputs(copy, X), predicted)


def test_auto_autocast_is_float32_for_short_sequences(Estimator, monkeypatch):
    monkeypatch.setattr(sklstm._base, "native_bfloat16", lambda: True)
    rng = np.random.default_rng(0)
    lengths = [40, 50, 70, 80]  # 60 steps on average: below 64
    X = [rng.normal(size=(n, 2)).astype(np.float32) for n in lengths * 5]
    y = targets(Estimator, np.arange(20) % 2)
    assert Estimator(**FAST, autocast="auto").fit(X, y).autocast_ is None
    longer = [np.concatenate([x, x[:10]]) for x in X]  # 70 on average
    assert Estimator(**FAST, autocast="auto").fit(longer, y).autocast_ == "bfloat16"
    for steps, chosen in [(63, None), (64, "bfloat16")]:
        X3 = rng.normal(size=(20, steps, 2)).astype(np.float32)
        assert Estimator(**FAST, autocast="auto").fit(X3, y).autocast_ == chosen


def test_auto_autocast_is_float32_for_float64_weights(Estimator, ragged_data, monkeypatch):
    X, y = ragged_data
    monkeypatch.setattr(sklstm._base, "native_bfloat16", lambda: True)
    monkeypatch.setattr(sklstm._base, "AUTOCAST_MIN_STEPS", 1)
    est = Estimator(**FAST, autocast="auto", dtype="float64").fit(X, y)
    assert est.autocast_ is None and est.net_.module_.autocast is None


def test_per_sequence_normalization_makes_the_fit_indifferent_to_units(Estimator, ragged_data):
    # Each sequence is standardized, and its statistics pass a batch norm:
    # inputs in other units and origins (per feature) train the same model,
    # up to batch norm's epsilon, once its running statistics have forgotten
    # their start (0.9 ** 180 here).
    X, y = ragged_data
    moved = [x * np.array([30.0, 4.0]) + np.array([-500.0, 7.0]) for x in X]
    params = dict(hidden_size=4, conv_channels=(3,), max_epochs=30, batch_size=8,
                  random_state=0, normalize="per_sequence", dtype="float64", early_stopping=False)
    est = Estimator(**params).fit(X, y)
    moved_est = Estimator(**params).fit(moved, y)
    np.testing.assert_allclose(outputs(moved_est, moved), outputs(est, X), rtol=0, atol=2e-3)
    plain = {**params, "normalize": None}
    assert not np.allclose(
        outputs(Estimator(**plain).fit(moved, y), moved), outputs(est, X), atol=2e-2
    )


def test_both_reads_the_steps_as_given_scaled_by_the_training_data(Estimator, ragged_data):
    # "both": the steps as given are standardized per feature by the
    # training data's moments (weighted as the fit weighs the sequences).
    X, y = ragged_data
    weight = np.arange(len(X)) % 3 / 2
    est = Estimator(**FAST, normalize="both").fit(X, y, sample_weight=weight)
    steps = np.concatenate(X)
    step_weight = np.repeat(weight, [len(x) for x in X])
    mean = np.average(steps, axis=0, weights=step_weight)
    std = np.sqrt(np.average((steps - mean) ** 2, axis=0, weights=step_weight))
    np.testing.assert_allclose(est.input_mean_, mean, rtol=1e-5)
    np.testing.assert_allclose(est.input_scale_, std, rtol=1e-5)
    assert est.input_mean_.dtype == est.input_scale_.dtype == np.float32
    # A feature constant over all the data is centred, not divided by 0.
    constant = [np.column_stack([x[:, 0], np.full(len(x), 4.0)]) for x in X]
    est = Estimator(**FAST, normalize="both").fit(constant, y)
    np.testing.assert_array_equal(est.input_scale_, [np.std(np.concatenate(X)[:, 0]), 1.0])
    assert np.isfinite(outputs(est, constant)).all()
    # Other settings leave them None; so does "auto" on standardized data.
    for normalize in (None, "per_sequence"):
        est = Estimator(**FAST, normalize=normalize).fit(X, y)
        assert est.input_mean_ is None and est.input_scale_ is None
    assert Estimator(**FAST).fit(standardized(X), y).input_mean_ is None


def test_both_makes_the_fit_indifferent_to_units(Estimator, ragged_data, monkeypatch):
    # Both halves of what "both" reads are standardized (one by the data's
    # moments, one per sequence): other units and origins per feature train
    # the same model, up to the batch norms' epsilon and rounding.
    X, y = ragged_data
    moved = [x * np.array([300.0, 0.02]) + np.array([-5000.0, 7.0]) for x in X]
    params = dict(hidden_size=4, conv_channels=(3,), max_epochs=30, batch_size=8,
                  random_state=0, normalize="both", dtype="float64", early_stopping=False)
    est = Estimator(**params).fit(X, y)
    moved_est = Estimator(**params).fit(moved, y)
    np.testing.assert_allclose(outputs(moved_est, moved), outputs(est, X), rtol=0, atol=2e-3)
    # Read unscaled (as an earlier sklstm did), the two fits differ.
    monkeypatch.setattr(sklstm._module.LSTMNet, "_affine", lambda self, x: x)
    assert not np.allclose(
        outputs(Estimator(**params).fit(moved, y), moved),
        outputs(Estimator(**params).fit(X, y), X), atol=2e-2,
    )


def standardized(seqs, ddof=0):
    return [((x - x.mean(axis=0)) / x.std(axis=0, ddof=ddof)).astype(np.float32) for x in seqs]


@pytest.mark.parametrize("ddof", [0, 1])
def test_auto_normalization_keeps_data_already_standardized_as_it_is(Estimator, ragged_data, ddof):
    # UCR-style data (each sequence z-normalized, by either standard
    # deviation): "auto" is None, the very same fit as normalize=None.
    X, y = ragged_data
    Z = standardized(X, ddof)
    Z[0][:, 1] = 0.0  # a feature constant within a sequence: zeros, as z-normalization leaves it
    params = dict(FAST, conv_channels=(3,))
    auto = Estimator(**params, normalize="auto").fit(Z, y)
    assert auto.normalize_ is None and auto.net_.module_.normalize is None
    np.testing.assert_array_equal(
        outputs(auto, Z), outputs(Estimator(**params, normalize=None).fit(Z, y), Z)
    )
    # Equal-length sequences and a table, too.
    Z3 = np.stack(standardized([x[:4] for x in X], ddof))  # 4 steps: the shortest
    assert Estimator(**params, normalize="auto").fit(Z3, y).normalize_ is None
    assert Estimator(**params, normalize="auto").fit(Z3[:, :, 0], y).normalize_ is None


def test_auto_normalization_keeps_features_standardized_overall_as_they_are(Estimator, ragged_data):
    # What SequenceScaler (or StandardScaler) leaves: each feature's mean 0
    # and standard deviation 1 over all steps, the user's choice of scale.
    X, y = ragged_data
    scaled = sklstm.SequenceScaler().fit_transform([x * 3 + 1 for x in X])
    assert Estimator(**FAST, normalize="auto").fit(scaled, y).normalize_ is None


def test_auto_normalization_reads_other_data_as_given_and_standardized(Estimator, ragged_data):
    X, y = ragged_data
    raw = [x * 3 + 1 for x in X]  # in other units
    Z = standardized(X)
    Z[3] = Z[3] + 10  # one sequence that is not standardized is enough
    params = dict(FAST, conv_channels=(3,))
    for data in (raw, Z):
        auto = Estimator(**params, normalize="auto").fit(data, y)
        assert auto.normalize_ == "both"
        np.testing.assert_array_equal(
            outputs(auto, data), outputs(Estimator(**params, normalize="both").fit(data, y), data)
        )
    module = auto.net_.module_  # each sequence, then itself standardized: twice the features
    assert module.lstms[0][0].input_size == 4 and module.convs[0][0][1].in_channels == 4
    # The choice is the first fit's: a warm start or partial_fit on other data keeps it.
    auto.set_params(warm_start=True, max_epochs=1).fit(standardized(X), y)
    assert auto.normalize_ == "both"
    partial = Estimator(**params, normalize="auto").partial_fit(standardized(X), y, **(
        {"classes": np.unique(y)} if hasattr(Estimator, "predict_proba") else {}))
    partial.partial_fit(raw, y)
    assert partial.normalize_ is None


def test_auto_normalization_reads_data_on_disk_a_block_at_a_time(Estimator, tmp_path, data):
    X, y = data
    Z = np.stack(standardized(X))
    on_disk = np.lib.format.open_memmap(tmp_path / "z.npy", "w+", np.float32, Z.shape)
    on_disk[:] = Z
    on_disk.flush()
    est = Estimator(**FAST, normalize="auto")
    assert est.fit(np.load(tmp_path / "z.npy", mmap_mode="r"), y).normalize_ is None
    # Blocks of a few sequences see what one block sees.
    for data, expected in ((Z, True), (X * 3 + 1, False), (Z + np.linspace(0, 1, len(Z))[:, None, None], False)):
        seqs = sklstm._data.check_sequences(est, data, reset=False)[1]
        moments = sklstm._data.feature_moments
        assert sklstm._data.standardized(*moments(seqs, block_values=100)) is expected
        assert sklstm._data.standardized(*moments(seqs)) is expected


def test_padding_values_are_ignored(Estimator, ragged_data):
    """A sequence padded by hand differs from the ragged one: padding is data."""
    X, y = ragged_data
    est = Estimator(**FAST).fit(X, y)
    short = X[0]
    padded = np.vstack([short, np.zeros((15 - len(short), 2), np.float32)])
    assert not np.allclose(outputs(est, [short]), outputs(est, [padded]))


def test_layouts_and_n_features_in(Estimator, data):
    X, y = data
    est = Estimator(**FAST)
    assert est.fit(X, y).n_features_in_ == 2
    # n_timesteps may differ between fit and predict for 3D input.
    assert est.predict(np.concatenate([X, X], axis=1)).shape == (len(X),)
    # A 2D array is a table of univariate sequences: its width is checked.
    table = X[:, :, 0]
    assert est.fit(table, y).n_features_in_ == 12
    with pytest.raises(ValueError, match="X has 5 features, but .* is expecting 12"):
        est.predict(table[:, :5])
    # A list of 1D arrays of different lengths: univariate sequences.
    ragged_1d = [row[: 5 + i % 7] for i, row in enumerate(table)]
    assert est.fit(ragged_1d, y).n_features_in_ == 1
    # ... and equally long 1D arrays are sequences for a model fitted on them.
    assert est.predict([row[:6] for row in table]).shape == (len(X),)
    # A 1D object array of 2D sequences.
    obj = np.empty(len(X), dtype=object)
    obj[:] = [x[: 4 + i % 5] for i, x in enumerate(X)]
    assert est.fit(obj, y).n_features_in_ == 2


def test_list_of_equal_3d_sequences_matches_3d_array(Estimator, data):
    X, y = data
    a = outputs(Estimator(**FAST).fit(X, y), X)
    b = outputs(Estimator(**FAST).fit(list(X), y), list(X))
    np.testing.assert_array_equal(a, b)


def test_dataframe_input_sets_feature_names(Estimator, data):
    pd = pytest.importorskip("pandas")
    X, y = data
    df = pd.DataFrame(X[:, :, 0], columns=[f"t{i}" for i in range(12)])
    est = Estimator(**FAST).fit(df, y)
    assert list(est.feature_names_in_) == list(df.columns)
    with pytest.warns(UserWarning, match="fitted with feature names"):
        unnamed = est.predict(df.to_numpy())
    np.testing.assert_array_equal(est.predict(df), unnamed)
    # Refitting on 3D data forgets the column names.
    assert not hasattr(est.fit(X, y), "feature_names_in_")


def test_cross_val_score_and_pipelines_fit_what_a_direct_fit_fits(Estimator, data):
    X, y = data
    folds = list(KFold(3).split(X))
    scores = cross_val_score(Estimator(**FAST), X, y, cv=folds)
    direct = [Estimator(**FAST).fit(X[tr], y[tr]).score(X[te], y[te]) for tr, te in folds]
    np.testing.assert_array_equal(scores, direct)
    # A table through a sklearn scaler, and sequences through a transformer.
    table = X[:, :, 0]
    piped = make_pipeline(StandardScaler(), Estimator(**FAST)).fit(table, y)
    scaled = StandardScaler().fit_transform(table)
    np.testing.assert_array_equal(
        outputs(piped, table), outputs(Estimator(**FAST).fit(scaled, y), scaled)
    )
    piped = make_pipeline(FunctionTransformer(np.tanh), Estimator(**FAST)).fit(X, y)
    np.testing.assert_array_equal(
        outputs(piped, X), outputs(Estimator(**FAST).fit(np.tanh(X), y), np.tanh(X))
    )


# -- prediction batches ---------------------------------------------------------


def _forward_batches(est, X):
    """The batch sizes the module sees while ``est`` predicts ``X``."""
    sizes = []
    hook = est.net_.module_.register_forward_hook(
        lambda module, args, out: sizes.append(args[0].shape[0])
    )
    try:
        outputs(est, X)
    finally:
        hook.remove()
    return sizes


@pytest.mark.parametrize("which", ["data", "ragged_data"])
def test_predict_batch_size_changes_batches_not_predictions(Estimator, which, request):
    X, y = request.getfixturevalue(which)
    est = Estimator(**FAST, batch_size=8).fit(X, y)
    auto = outputs(est, X)
    assert _forward_batches(est, X) == [48]  # short sequences: one batch
    for size in (1, 5, 48):
        est.set_params(predict_batch_size=size)
        assert _forward_batches(est, X) == [size] * (48 // size) + [48 % size] * (48 % size > 0)
        np.testing.assert_allclose(outputs(est, X), auto, rtol=0, atol=1e-6)


def test_predict_batch_size_auto_follows_the_longest_sequence(Estimator):
    # About 16,384 steps per batch: 16 sequences of 1000 steps, and never
    # fewer sequences than the training batch; short ones up to 256.
    rng = np.random.default_rng(0)
    long = rng.normal(size=(130, 1000, 1)).astype(np.float32)
    y = targets(Estimator, np.arange(130) % 2)
    est = Estimator(hidden_size=2, conv_channels=None, max_epochs=1, batch_size=8).fit(
        long[:16], y[:16]
    )
    assert _forward_batches(est, long) == [16] * 8 + [2]
    est.set_params(batch_size=100)
    assert _forward_batches(est, long) == [100, 30]
    short = rng.normal(size=(600, 3, 1)).astype(np.float32)
    assert _forward_batches(est.set_params(batch_size=8), short) == [256, 256, 88]
    ragged = [long[0]] + list(short[:99])  # one long sequence sets the batch
    assert _forward_batches(est, ragged) == [16] * 6 + [4]


# -- seeding, interruption, copies -----------------------------------------------


def test_same_random_state_gives_bit_identical_predictions(Estimator, ragged_data):
    X, y = ragged_data
    params = dict(hidden_size=8, max_epochs=4, dropout=0.3, validation_fraction=0.25)
    p1 = outputs(Estimator(random_state=3, **params).fit(X, y), X)
    p2 = outputs(Estimator(random_state=3, **params).fit(X, y), X)
    p3 = outputs(Estimator(random_state=4, **params).fit(X, y), X)
    np.testing.assert_array_equal(p1, p2)
    assert not np.allclose(p1, p3)


def test_fit_leaves_torch_global_rng_untouched(Estimator, data):
    X, y = data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    Estimator(**FAST).fit(X, y)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_interrupted_training_leaves_a_usable_model(Estimator, data):
    X, y = data

    class Interrupt(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 2:
                raise KeyboardInterrupt

    params = {**FAST, "lr_schedule": "constant"}
    est = Estimator(callbacks=[Interrupt()], **params)
    with pytest.warns(UserWarning, match="interrupted after 2 epoch"):
        est.fit(X, y)
    assert est.n_iter_ == 2
    # It keeps the weights reached: those of a two-epoch fit.
    two = Estimator(**{**params, "max_epochs": 2}).fit(X, y)
    np.testing.assert_array_equal(outputs(est, X), outputs(two, X))


def test_clone_gives_unfitted_copy_with_copied_callbacks(Estimator, data):
    X, y = data
    marker = LRScheduler(policy="StepLR", step_size=1)
    est = Estimator(callbacks=[marker], lr_schedule="constant", **FAST).fit(X, y)
    twin = clone(est)
    assert not hasattr(twin, "net_")
    assert twin.get_params()["hidden_size"] == 8
    assert twin.callbacks[0] is not marker
    assert twin.callbacks[0].get_params()["step_size"] == 1


def test_pickle_round_trip_gives_identical_predictions(Estimator, ragged_data):
    X, y = ragged_data
    est = Estimator(**FAST).fit(X, y)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(outputs(restored, X), outputs(est, X))
    assert len(restored.history_) == len(est.history_)


# -- training options ----------------------------------------------------------


def test_early_stopping_restores_the_best_weights(Estimator, data):
    X, y = data
    # A constant lr: with the cosine schedule, a fit of fewer epochs would
    # anneal faster and reach other weights.
    params = dict(
        hidden_size=8, lr=0.05, lr_schedule="constant", validation_fraction=0.25,
        random_state=0,
    )
    est = Estimator(early_stopping=True, n_iter_no_change=3, max_epochs=200, **params)
    est.fit(X, y)
    best = dict(est.net_.callbacks_)["early_stopping"].best_epoch_
    losses = est.history_[:, "valid_loss"]
    assert losses[best - 1] == pytest.approx(min(losses), rel=1e-3)
    assert est.n_iter_ == best + 3 < 200
    # The restored model is the one after the best epoch, bit for bit.
    at_best = Estimator(max_epochs=best, early_stopping=False, **params).fit(X, y)
    np.testing.assert_array_equal(outputs(est, X), outputs(at_best, X))


def test_device_cuda_without_cuda_is_a_clear_error(Estimator, data, monkeypatch):
    X, y = data
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match=r"device='cuda'.*no CUDA device"):
        Estimator(device="cuda", **FAST).fit(X, y)
    est = Estimator(device="auto", **FAST).fit(X, y)
    assert est.net_.device == "cpu"


def test_extra_callbacks_run_and_the_passed_ones_stay_untouched(Estimator, data):
    X, y = data
    scheduler = LRScheduler(policy="StepLR", step_size=1, gamma=0.5)
    est = Estimator(lr=0.01, lr_schedule="constant", callbacks=[scheduler], **FAST).fit(X, y)
    lr_now = est.net_.optimizer_.param_groups[0]["lr"]
    assert lr_now == pytest.approx(0.01 * 0.5**5)
    assert not hasattr(scheduler, "lr_scheduler_")  # the copy was used


@pytest.mark.parametrize("callbacks", [
    ["not a callback"], [("name",)], [(1, Callback())], [int], [("a", Callback(), 3)],
])
def test_callbacks_that_are_not_callbacks_are_a_clear_error(Estimator, data, callbacks):
    X, y = data
    with pytest.raises(ValueError, match="callbacks must be a list of skorch callbacks"):
        Estimator(callbacks=callbacks, **FAST).fit(X, y)


@pytest.mark.parametrize("schedule", ["cosine", "plateau"])
def test_an_own_lr_scheduler_needs_the_constant_schedule(Estimator, data, schedule):
    X, y = data
    scheduler = LRScheduler(policy="StepLR", step_size=1, gamma=0.5)
    est = Estimator(callbacks=[("steps", scheduler)], lr_schedule=schedule, **FAST)
    with pytest.raises(ValueError, match=f"lr_schedule='{schedule}' over .* lr_schedule='constant'"):
        est.fit(X, y)


def test_cosine_schedule_anneals_the_lr_to_zero_step_by_step(Estimator, data):
    X, y = data  # 48 sequences: 3 batches of 16 per epoch
    est = Estimator(lr=0.01, batch_size=16, lr_schedule="cosine", **FAST).fit(X, y)
    total = 5 * 3
    expected = [
        0.005 * (1 + np.cos(np.pi * (3 * epoch + 2) / total)) for epoch in range(5)
    ]  # the lr of each epoch's last step
    np.testing.assert_allclose(est.history_[:, "lr"], expected, rtol=1e-12)
    # partial_fit trains at lr: the schedule belongs to a whole fit.
    est.partial_fit(X, y)
    assert est.net_.optimizer_.param_groups[0]["lr"] == 0.01
    assert "lr" not in est.history_[-1]
    constant = Estimator(lr=0.01, lr_schedule="constant", **FAST).fit(X, y)
    assert constant.net_.optimizer_.param_groups[0]["lr"] == 0.01
    assert not np.allclose(outputs(constant, X), outputs(est, X))


@pytest.mark.parametrize("n_train, batch_size, epochs, regressor_epochs", [
    (36, 32, 1000, 2000), (40, 16, 667, 1334), (270, 32, 223, 445), (640, 32, 100, 200),
    (1000, 32, 79, 125), (2560, 32, 50, 50),
    (10_000, 32, 25, 25), (50_000, 32, 11, 11), (64_001, 32, 10, 10),
])
def test_auto_epochs_give_2000_steps_then_steps_growing_as_a_square_root(
    Estimator, n_train, batch_size, epochs, regressor_epochs
):
    # The regressor's budget is at least 4000 steps, the classifier's beyond
    # 80 batches (2560 sequences).
    if Estimator.__name__ == "LSTMSequenceRegressor":
        epochs = regressor_epochs
    assert Estimator(batch_size=batch_size, max_epochs="auto")._epochs(n_train) == epochs
    assert Estimator(max_epochs=7)._epochs(n_train) == 7


def test_auto_steps_grow_with_the_data_but_slower(Estimator):
    clf = Estimator(max_epochs="auto")
    sizes = [32 * 2**k for k in range(16)]  # 1 to 32,768 batches
    steps = [clf._epochs(n) * (n // 32) for n in sizes]
    first = {"LSTMSequenceClassifier": 2000, "LSTMSequenceRegressor": 4000}[Estimator.__name__]
    assert steps[:5] == [first] * 5 and all(first <= s for s in steps)
    for smaller, larger in zip(steps[5:], steps[6:]):
        assert smaller < larger <= 1.43 * smaller  # twice the data, about sqrt(2)x the steps


def test_auto_epochs_count_the_training_split(Estimator, data, monkeypatch):
    X, y = data  # 48 sequences, 36 for training after the split
    monkeypatch.setattr(sklstm._base, "AUTO_STEPS", 20)  # a short fit
    est = Estimator(
        hidden_size=4, batch_size=12, max_epochs="auto", tol=None, random_state=0,
        early_stopping=False,
    )
    steps = 20 * est._auto_floor  # the regressor's budget is at least twice the classifier's
    assert est.fit(X, y).n_iter_ == -(-steps // 4)  # 4 batches per epoch
    assert est.set_params(validation_fraction=0.25).fit(X, y).n_iter_ == -(-steps // 3)


def test_verbose_levels(Estimator, data, capsys):
    X, y = data
    Estimator(verbose=0, **FAST).fit(X, y)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    Estimator(verbose=1, **FAST).fit(X, y)
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert "epoch" in lines[0] and "train_loss" in lines[0]
    assert len(lines) == 2 + 5  # header, rule, one line per epoch
    Estimator(verbose=2, **FAST).fit(X, y)
    out = capsys.readouterr()
    assert "train_loss" in out.out
    assert "it/s]" in out.err or "s/it]" in out.err  # tqdm's progress bar


def test_warm_start_continues_training(Estimator, data):
    X, y = data
    est = Estimator(warm_start=True, **FAST).fit(X, y)
    first = est.net_.module_.head.weight.detach().clone()
    est.fit(X, y)
    assert est.n_iter_ == 10 and len(est.history_) == 10
    cold = Estimator(**FAST).fit(X, y)
    # The second fit started from the first one's weights, not afresh.
    assert not torch.equal(est.net_.module_.head.weight, first)
    assert not np.allclose(outputs(est, X), outputs(cold, X))
    with pytest.raises(ValueError, match="network's shape .* changed"):
        est.set_params(hidden_size=16).fit(X, y)


def test_partial_fit_trains_one_epoch_per_call_keeping_the_optimizer(Estimator, data):
    X, y = data
    est = Estimator(batch_size=24, **FAST)
    est.partial_fit(X[:24], y[:24])
    est.partial_fit(X[24:], y[24:])
    assert est.n_iter_ == 2
    # Adam's state carries over: one step per batch of both calls.
    state = est.net_.optimizer_.state[est.net_.module_.head.weight]
    assert int(state["step"]) == 2
    with pytest.raises(ValueError, match="X has 1 features per time step.*expecting 2"):
        est.partial_fit(X[:, :, :1], y)


# -- the network's shape and the optimizer ---------------------------------------


def test_hidden_size_rules(Estimator, data):
    X, y = data
    est = Estimator(hidden_size=6, num_layers=3, max_epochs=1).fit(X, y)
    assert lstm_layers(est) == [(6, True)] * 3
    est = Estimator(hidden_size=(8, 4), bidirectional=False, max_epochs=1).fit(X, y)
    assert lstm_layers(est) == [(8, False), (4, False)]
    with pytest.raises(ValueError, match="num_layers=2 is ambiguous"):
        Estimator(hidden_size=(8, 4), num_layers=2).fit(X, y)
    for bad in [(), (8, 0), (8, 2.5), [True]]:
        with pytest.raises(ValueError, match="hidden_size must be"):
            Estimator(hidden_size=bad).fit(X, y)


def test_optimizer_choices(Estimator, data):
    X, y = data
    sgd = Estimator(optimizer="sgd", **FAST).fit(X, y)
    assert sgd.net_.optimizer_.param_groups[0]["momentum"] == 0.9
    adagrad = Estimator(optimizer=torch.optim.Adagrad, **FAST).fit(X, y)
    assert isinstance(adagrad.net_.optimizer_, torch.optim.Adagrad)
    adamw = Estimator(optimizer="adamw", weight_decay=0.1, **FAST).fit(X, y)
    assert adamw.net_.optimizer_.param_groups[0]["weight_decay"] == 0.1
    with pytest.raises(ValueError, match="subclass of torch.optim.Optimizer"):
        Estimator(optimizer=dict).fit(X, y)


def test_float64_network(Estimator, data):
    X, y = data
    est = Estimator(dtype="float64", **FAST).fit(X, y)
    assert all(p.dtype == torch.float64 for p in est.net_.module_.parameters())
    assert outputs(est, X).dtype == np.float64


def test_parameter_rules_raise_with_a_fix(Estimator, data):
    X, y = data
    with pytest.raises(ValueError, match="set validation_fraction"):
        Estimator(early_stopping=True).fit(X, y)
    with pytest.raises(ValueError, match="validation_fraction=0.99 cannot hold out"):
        Estimator(validation_fraction=0.99).fit(X, y)


def test_convolutional_block_beside_the_lstm(Estimator, data):
    X, y = data
    est = Estimator(
        hidden_size=8, conv_channels=(6, 10, 4, 5), max_epochs=2, random_state=0
    ).fit(X, y)
    convs = [conv[1] for conv, _ in est.net_.module_.convs]
    assert [c.kernel_size[0] for c in convs] == [8, 5, 3, 3]
    assert [c.out_channels for c in convs] == [6, 10, 4, 5]
    # The head reads the LSTM's pooled outputs and the block's mean.
    lstm_only = Estimator(hidden_size=8, conv_channels=None, max_epochs=1).fit(X, y)
    assert len(lstm_only.net_.module_.convs) == 0
    assert est.net_.module_.head.in_features == lstm_only.net_.module_.head.in_features + 5
    # A table of univariate sequences, and sequences shorter than a kernel.
    est.fit(X[:, :3, 0], y)
    assert len(outputs(est, X[:4, :3, 0])) == 4


@pytest.mark.parametrize("conv_channels", [(0,), (4, -1), ("8",), (True,), (2.5,)])
def test_bad_conv_channels(Estimator, data, conv_channels):
    X, y = data
    with pytest.raises(ValueError, match="conv_channels must be None or a tuple of positive ints"):
        Estimator(conv_channels=conv_channels, max_epochs=1).fit(X, y)
