"""Attributions and permutation importances land where the signal is, and only there."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from sklstm import LSTMSequenceClassifier, LSTMSequenceRegressor, SequenceScaler
from sklstm.inspection import integrated_gradients, permutation_importance

# The inputs as given: standardizing each sequence (normalize="auto" on
# this data) would raise the small noise of the bump task's other features
# to the scale of its signal, and the network reads both.
SMALL = dict(hidden_size=8, conv_channels=(8,), normalize=None, random_state=0)


def _feature_task(shuffled):
    """Every cell N(0, 1); the class is the sign of feature 1's mean (or shuffled)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 16, 3))
    y = (X[:, :, 1].mean(axis=1) > 0).astype(int)
    if shuffled:
        y = rng.permutation(y)
    clf = LSTMSequenceClassifier(
        16, conv_channels=None, normalize=None, max_epochs=40, random_state=0
    )
    return clf.fit(X[:400], y[:400]), X[400:], y[400:]


def _bump_task(shuffled):
    """Small noise; feature 1 carries +1 or -1 over steps 8-15 by class (or shuffled)."""
    rng = np.random.default_rng(0)
    X = 0.05 * rng.normal(size=(200, 24, 3))
    y = rng.integers(0, 2, 200)
    X[:, 8:16, 1] += 2 * y[:, None] - 1
    if shuffled:
        y = rng.permutation(y)
    # 30 epochs at most, not a converged fit: the cosine anneals to its end, which
    # settles the weights that the shares below read (a held lr leaves 0.78).
    clf = LSTMSequenceClassifier(**SMALL, max_epochs=30, lr_schedule="cosine")
    return clf.fit(X[:120], y[:120]), X[120:], y[120:]


@pytest.fixture(scope="module", params=[False, True], ids=["signal", "shuffled"])
def feature_task(request):
    return request.param, _feature_task(request.param)


@pytest.fixture(scope="module", params=[False, True], ids=["signal", "shuffled"])
def bump_task(request):
    return request.param, _bump_task(request.param)


def _share(attributions, where):
    mass = np.abs(attributions)
    return mass[where].sum() / mass.sum()


def test_attributions_land_on_the_feature_that_decides(feature_task):
    shuffled, (clf, X, y) = feature_task
    share = _share(integrated_gradients(clf, X), (slice(None), slice(None), 1))
    if shuffled:  # no signal: about a third, like every feature
        assert share < 0.5
    else:
        assert clf.score(X, y) > 0.8
        assert share >= 0.8


def test_attributions_land_on_the_steps_and_feature_of_the_signal(bump_task):
    shuffled, (clf, X, y) = bump_task
    share = _share(integrated_gradients(clf, X), (slice(None), slice(8, 16), 1))
    # The cells of the signal are 8 of 72; without a signal to learn, less of
    # the mass lands there than with one (what remains follows the inputs'
    # sizes, large there).
    if shuffled:
        assert share < 0.78
    else:
        assert clf.score(X, y) == 1.0
        assert share >= 0.8


def test_permutation_importance_finds_the_feature_and_segment(bump_task):
    shuffled, (clf, X, y) = bump_task
    by_feature = permutation_importance(clf, X, y, n_repeats=10, random_state=0)
    by_segment = permutation_importance(
        clf, X, y, by="segment", n_segments=3, n_repeats=10, random_state=0
    )
    assert by_feature.names.tolist() == ["x0", "x1", "x2"]
    assert by_segment.names.tolist() == ["0-33%", "33-67%", "67-100%"]
    for result in (by_feature, by_segment):
        assert result.importances.shape == (3, 10)
        np.testing.assert_allclose(result.importances_mean, result.importances.mean(axis=1))
        if shuffled:  # noise of a few of the 80 held-out sequences
            assert np.all(result.importances_mean < 0.15)
        else:  # steps 8-15 of 24: the middle third
            assert np.argmax(result.importances_mean) == 1
            assert result.importances_mean[1] > 0.3
            assert np.all(np.delete(result.importances_mean, 1) < 0.05)


@pytest.mark.parametrize(
    "params, atol",
    [
        (dict(conv_channels=None, pooling="mean"), 1e-9),
        (dict(), 2e-3),
        # Raw and standardized inputs, each integrated along its own path.
        (dict(conv_channels=None, pooling="mean", normalize="both"), 1e-9),
    ],
    ids=["smooth", "default", "both"],
)
def test_attributions_add_up_to_the_change_of_the_output(params, atol):
    # Exactly (up to the quadrature) for a smooth network; the default's ReLUs
    # and maxima make the path's gradient piecewise smooth, which the
    # quadrature integrates less exactly.
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 12, 2))
    y = (X[:, :, 0].sum(axis=1) > 0).astype(int)
    clf = LSTMSequenceClassifier(**{**SMALL, **params}, max_epochs=10, dtype="float64").fit(X, y)
    attributions = integrated_gradients(clf, X[:5], target=1, n_steps=64)
    gap = clf.predict_proba(X[:5])[:, 1] - clf.predict_proba(np.zeros((1, 12, 2)))[0, 1]
    np.testing.assert_allclose(attributions.sum(axis=(1, 2)), gap, atol=atol)
    baseline = np.array([0.5, -0.5])
    attributions = integrated_gradients(clf, X[:5], target=0, baseline=baseline, n_steps=64)
    base = np.broadcast_to(baseline, (1, 12, 2))
    gap = clf.predict_proba(X[:5])[:, 0] - clf.predict_proba(base)[0, 0]
    np.testing.assert_allclose(attributions.sum(axis=(1, 2)), gap, atol=atol)


def test_regressor_attributions_add_up_in_the_targets_units():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(30, 10, 2))
    y = np.stack([100 * X[:, :, 0].mean(axis=1), X[:, :, 1].mean(axis=1)], axis=1)
    smooth = dict(conv_channels=None, pooling="mean", normalize=None, dtype="float64")
    reg = LSTMSequenceRegressor(**{**SMALL, **smooth}, max_epochs=10).fit(X, y)
    for column in (0, 1):
        attributions = integrated_gradients(reg, X[:4], target=column, n_steps=64)
        gap = reg.predict(X[:4])[:, column] - reg.predict(np.zeros((1, 10, 2)))[0, column]
        np.testing.assert_allclose(attributions.sum(axis=(1, 2)), gap, atol=1e-9 * 100)
    with pytest.raises(ValueError, match="2 outputs: pass target=k"):
        integrated_gradients(reg, X[:4])
    with pytest.raises(ValueError, match="output column of the regressor, 0 to 1"):
        integrated_gradients(reg, X[:4], target=2)


def test_per_sequence_normalization_takes_baseline_sequences():
    rng = np.random.default_rng(7)
    X = [rng.normal(size=(8 + i % 4, 2)) for i in range(20)]
    y = np.array([x[:, 0].std() for x in X])
    params = dict(conv_channels=None, pooling="mean", dtype="float64", normalize="per_sequence")
    reg = LSTMSequenceRegressor(**{**SMALL, **params}, max_epochs=5).fit(X, y)
    with pytest.raises(ValueError, match="constant over time has no scale"):
        integrated_gradients(reg, X)
    baseline = [x[::-1] * 0.5 for x in X]  # each sequence its own reference
    attributions = integrated_gradients(reg, X, baseline=baseline, n_steps=64)
    gap = reg.predict(X) - reg.predict(baseline)
    np.testing.assert_allclose([a.sum() for a in attributions], gap, atol=1e-8)
    with pytest.raises(ValueError, match="one sequence per sequence of X, each as long"):
        integrated_gradients(reg, X, baseline=baseline[:-1])


@pytest.mark.parametrize("normalize", [None, "both"])
def test_ragged_attributions_cover_each_sequence_alone_as_in_a_batch(normalize):
    rng = np.random.default_rng(3)
    X = [rng.normal(size=(5 + i % 7, 2)) for i in range(24)]
    y = np.array([0, 1] * 12)
    params = {**SMALL, "normalize": normalize}
    clf = LSTMSequenceClassifier(**params, max_epochs=5, dtype="float64").fit(X, y)
    together = integrated_gradients(clf, X)
    assert [a.shape for a in together] == [x.shape for x in X]
    for i in (0, 6, 13):
        alone = integrated_gradients(clf, [X[i]])[0]
        np.testing.assert_allclose(together[i], alone, atol=1e-10)
    univariate = [x[:, 0] for x in X]  # 1D sequences come back 1D
    clf.fit(univariate, y)
    assert [a.shape for a in integrated_gradients(clf, univariate)] == [(len(x),) for x in X]


def test_channels_first_attributions_come_back_channels_first():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(20, 3, 9))  # (n, channels, steps)
    y = np.array([0, 1] * 10)
    first = LSTMSequenceClassifier(**SMALL, max_epochs=3, data_format="channels_first").fit(X, y)
    last = LSTMSequenceClassifier(**SMALL, max_epochs=3).fit(X.transpose(0, 2, 1), y)
    np.testing.assert_array_equal(
        integrated_gradients(first, X), integrated_gradients(last, X.transpose(0, 2, 1)
                                                             ).transpose(0, 2, 1)
    )


def test_permutation_importance_takes_ragged_data_pipelines_and_scorers():
    rng = np.random.default_rng(5)
    X = [0.05 * rng.normal(size=(20 + i % 9, 2)) for i in range(90)]
    y = rng.integers(0, 2, 90)
    for x, label in zip(X, y):
        x[:, 0] += 2 * label - 1  # feature 0 decides, whatever the length
    model = make_pipeline(SequenceScaler(), LSTMSequenceClassifier(**SMALL, max_epochs=20))
    model.fit(X[:60], y[:60])
    result = permutation_importance(
        model, X[60:], y[60:], scoring="balanced_accuracy", random_state=0
    )
    assert result.importances_mean[0] > 0.3 > abs(result.importances_mean[1])
    again = permutation_importance(
        model, X[60:], y[60:], scoring="balanced_accuracy", random_state=0
    )
    np.testing.assert_array_equal(again.importances, result.importances)


def test_inspection_refuses_what_it_cannot_explain():
    rng = np.random.default_rng(6)
    X = rng.normal(size=(10, 5, 2))
    clf = LSTMSequenceClassifier(**SMALL, max_epochs=1).fit(X, ["a", "b"] * 5)
    with pytest.raises(ValueError, match="target 'c' is not a class.*\\['a', 'b'\\]"):
        integrated_gradients(clf, X, target="c")
    with pytest.raises(ValueError, match="baseline must be a number, one value per feature"):
        integrated_gradients(clf, X, baseline=np.zeros(3))
    with pytest.raises(ValueError, match="n_steps"):
        integrated_gradients(clf, X, n_steps=0)
    with pytest.raises(ValueError, match="'by' parameter"):
        permutation_importance(clf, X, ["a", "b"] * 5, by="time")
