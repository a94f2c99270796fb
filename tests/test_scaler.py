"""SequenceScaler: standardization of 3D, 2D and ragged sequences."""

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklstm import LSTMSequenceClassifier, SequenceScaler, SlidingWindowTransformer

RNG = np.random.RandomState(0)
X3 = RNG.normal(loc=[5.0, -2.0], scale=[3.0, 0.5], size=(10, 6, 2))
RAGGED = [RNG.normal(loc=[1.0, 10.0], size=(2 + i, 2)) for i in range(8)]


def test_3d_equals_standard_scaler_on_all_steps():
    scaler = SequenceScaler().fit(X3)
    reference = StandardScaler().fit(X3.reshape(-1, 2))
    np.testing.assert_allclose(scaler.mean_, reference.mean_)
    np.testing.assert_allclose(scaler.scale_, reference.scale_)
    np.testing.assert_allclose(scaler.var_, reference.var_)
    out = scaler.transform(X3)
    assert out.shape == X3.shape
    np.testing.assert_allclose(out.reshape(-1, 2), reference.transform(X3.reshape(-1, 2)))
    assert scaler.n_features_in_ == 2


def test_2d_univariate_sequences_share_one_mean_and_scale():
    X = X3[:, :, 0]
    scaler = SequenceScaler().fit(X)
    assert scaler.n_features_in_ == 6  # the width, as for the classifier
    np.testing.assert_allclose(scaler.mean_, [X.mean()])
    np.testing.assert_allclose(scaler.scale_, [X.std()])
    np.testing.assert_allclose(scaler.transform(X), (X - X.mean()) / X.std())
    with pytest.raises(ValueError, match="fitted on a 2D array"):
        scaler.transform(X3)


def test_ragged_keeps_each_length_and_shape():
    scaler = SequenceScaler().fit(RAGGED)
    steps = np.concatenate(RAGGED)
    np.testing.assert_allclose(scaler.mean_, steps.mean(axis=0))
    np.testing.assert_allclose(scaler.scale_, steps.std(axis=0))
    out = scaler.transform(RAGGED)
    assert isinstance(out, list)
    assert [x.shape for x in out] == [x.shape for x in RAGGED]
    for x, o in zip(RAGGED, out):
        np.testing.assert_allclose(o, (x - steps.mean(axis=0)) / steps.std(axis=0))
    univariate = [x[:, 0] for x in RAGGED]
    assert [x.shape for x in SequenceScaler().fit_transform(univariate)] == [
        x.shape for x in univariate
    ]


@pytest.mark.parametrize("X", [X3, X3[:, :, 0], RAGGED], ids=["3d", "2d", "ragged"])
def test_inverse_transform_round_trips(X):
    scaler = SequenceScaler().fit(X)
    back = scaler.inverse_transform(scaler.transform(X))
    for b, x in zip(back, X):
        np.testing.assert_allclose(b, x)


def test_windows_are_scaled_as_a_view():
    series = RNG.normal(loc=3.0, size=(50, 2))
    windows = SlidingWindowTransformer(10).fit_transform(series)
    scaler = SequenceScaler().fit(windows)
    copied = np.array(windows)
    reference = StandardScaler().fit(copied.reshape(-1, 2))
    np.testing.assert_allclose(scaler.mean_, reference.mean_)
    np.testing.assert_allclose(scaler.scale_, reference.scale_)
    out = scaler.transform(windows)
    assert np.shares_memory(out[0], out[1])  # still windows over scaled rows
    assert not out.flags.writeable
    np.testing.assert_allclose(out, scaler.transform(copied))
    np.testing.assert_allclose(scaler.inverse_transform(out), copied)


def test_moments_in_chunks_equal_one_pass():
    from sklstm._scaler import _moments

    mean, var = _moments(X3, chunk_elements=7)  # one sequence per chunk
    np.testing.assert_allclose(mean, X3.reshape(-1, 2).mean(axis=0))
    np.testing.assert_allclose(var, X3.reshape(-1, 2).var(axis=0))


@pytest.mark.parametrize("dtype, expected", [(np.float32, np.float32), (np.int32, np.float64)])
def test_dtype(dtype, expected):
    X = (X3 * 10).astype(dtype)
    assert SequenceScaler().fit_transform(X).dtype == expected
    ragged = [x.astype(dtype) for x in RAGGED]
    assert {x.dtype for x in SequenceScaler().fit_transform(ragged)} == {np.dtype(expected)}


def test_with_mean_and_with_std_off():
    only_std = SequenceScaler(with_mean=False).fit(X3)
    np.testing.assert_array_equal(only_std.mean_, [0.0, 0.0])
    np.testing.assert_allclose(only_std.transform(X3), X3 / only_std.scale_)
    only_mean = SequenceScaler(with_std=False).fit(X3)
    np.testing.assert_array_equal(only_mean.scale_, [1.0, 1.0])
    np.testing.assert_allclose(only_mean.transform(X3), X3 - only_mean.mean_)


def test_constant_feature_is_centered_not_divided():
    X = X3.copy()
    X[:, :, 1] = 4.2
    scaler = SequenceScaler().fit(X)
    assert scaler.scale_[1] == 1.0
    np.testing.assert_allclose(scaler.transform(X)[:, :, 1], 0.0, atol=1e-12)


@pytest.mark.parametrize(
    "X, match",
    [
        (X3[:, :, :1], "X has 1 features per time step, but SequenceScaler is expecting 2"),
        ([x[:, :1] for x in RAGGED], "expecting 2"),
        (np.where(X3 > 8, np.nan, X3), "NaN"),
        (X3[:, :, 0], "fitted on 3D or ragged sequences"),
    ],
)
def test_transform_bad_input(X, match):
    scaler = SequenceScaler().fit(X3)
    with pytest.raises(ValueError, match=match):
        scaler.transform(X)


def test_pipeline_with_classifier_on_ragged(ragged):
    X, y = ragged
    pipe = make_pipeline(SequenceScaler(), LSTMSequenceClassifier(hidden_size=8, max_epochs=5, random_state=0))
    assert pipe.fit(X, y).predict(X).shape == (len(X),)
