"""Channels-first input (aeon's and sktime's numpy3D) and sktime's DataFrame containers."""

import gzip
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _tasks import outputs, targets
from sklearn.pipeline import make_pipeline

import sklstm
from sklstm import (
    LSTMSequenceClassifier,
    SequenceScaler,
    SlidingWindowTransformer,
)
from sklstm.datasets._ts import read_ts

DATA = Path(__file__).parent / "data"
FAST = dict(hidden_size=4, conv_channels=(4,), max_epochs=2, random_state=0)
RNG = np.random.default_rng(0)
X3 = RNG.normal(size=(16, 9, 3))  # channels last: 16 sequences, 9 steps, 3 features
Y = np.array([0, 1] * 8)
RAGGED = [RNG.normal(size=(4 + i % 5, 3)) for i in range(16)]


def _first(X):
    """``X`` in the channels-first layout, as a new contiguous array."""
    if isinstance(X, list):
        return [np.ascontiguousarray(x.T) for x in X]
    return np.ascontiguousarray(X.transpose(0, 2, 1))


@pytest.mark.parametrize("data", ["3d", "ragged"])
def test_channels_first_fits_and_predicts_as_channels_last(Estimator, data):
    X = X3 if data == "3d" else RAGGED
    y = targets(Estimator, Y)
    last = Estimator(**FAST).fit(X, y)
    first = Estimator(**FAST, data_format="channels_first").fit(_first(X), y)
    assert first.n_features_in_ == last.n_features_in_ == 3
    np.testing.assert_array_equal(outputs(first, _first(X)), outputs(last, X))
    assert first.score(_first(X), y) == last.score(X, y)


def test_channels_first_univariate_is_one_feature_of_all_steps(Estimator):
    aeon_univariate = X3[:, None, :, 0]  # (n_cases, 1, n_timepoints)
    y = targets(Estimator, Y)
    first = Estimator(**FAST, data_format="channels_first").fit(aeon_univariate, y)
    last = Estimator(**FAST).fit(X3[:, :, :1], y)
    assert first.n_features_in_ == 1
    np.testing.assert_array_equal(outputs(first, aeon_univariate), outputs(last, X3[:, :, :1]))


def test_a_single_time_step_warns_that_it_may_be_channels_first(Estimator):
    aeon_univariate = X3[:, None, :, 0]
    with pytest.warns(UserWarning, match="single time step of 9 features.*channels_first"):
        Estimator(**FAST).fit(aeon_univariate, targets(Estimator, Y))
    with pytest.warns(UserWarning, match="single time step"):
        Estimator(**FAST).fit([x[None, :, 0] for x in X3], targets(Estimator, Y))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Estimator(**FAST, data_format="channels_first").fit(aeon_univariate, targets(Estimator, Y))
        Estimator(**FAST).fit(X3[:, :1, :1], targets(Estimator, Y))  # one step of one feature


def test_channels_first_errors_name_the_channels_first_shapes(Estimator):
    est = Estimator(**FAST, data_format="channels_first").fit(_first(X3), targets(Estimator, Y))
    with pytest.raises(ValueError, match=r"X\[:, None, :\]"):
        est.predict(X3[:, :, 0])
    with pytest.raises(ValueError, match=r"\(n_features, n_timesteps\)"):
        est.predict([np.zeros((2, 3, 4))])
    with pytest.raises(ValueError, match="X has 9 features per time step.*expecting 3"):
        est.predict(X3)  # channels last given to a channels-first estimator
    with pytest.raises(ValueError, match="data_format"):
        Estimator(data_format="channels_middle").fit(X3, targets(Estimator, Y))


def test_channels_first_survives_save_load_and_clone(Estimator, tmp_path):
    est = Estimator(**FAST, data_format="channels_first").fit(_first(X3), targets(Estimator, Y))
    sklstm.save(est, tmp_path / "model.safetensors")
    loaded = sklstm.load(tmp_path / "model.safetensors")
    assert loaded.data_format == "channels_first"
    np.testing.assert_array_equal(outputs(loaded, _first(X3)), outputs(est, _first(X3)))
    from sklearn.base import clone

    assert clone(est).data_format == "channels_first"


def test_channels_first_exports_to_onnx_with_channels_first_input(tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    X = _first(X3).astype(np.float32)
    clf = LSTMSequenceClassifier(**FAST, data_format="channels_first").fit(X, Y)
    sklstm.export_onnx(clf, tmp_path / "model.onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
    proba = session.run(["proba"], {"x": X})[0]
    np.testing.assert_allclose(proba, clf.predict_proba(X), atol=1e-5)
    longer = np.ascontiguousarray(RNG.normal(size=(3, 3, 14)).astype(np.float32))
    np.testing.assert_allclose(
        session.run(["proba"], {"x": longer})[0], clf.predict_proba(longer), atol=1e-5
    )


def _multiindex(sequences, shuffle_steps=True):
    """sktime's pd-multiindex: rows indexed by (sequence, time), a column per channel."""
    frames = []
    for i, seq in enumerate(sequences):
        frame = pd.DataFrame(seq, columns=[f"dim_{j}" for j in range(seq.shape[1])])
        frame.index = pd.MultiIndex.from_product(
            [[f"case{i}"], np.arange(len(seq)) * 10], names=["instances", "timepoints"]
        )
        frames.append(frame.sample(frac=1, random_state=i) if shuffle_steps else frame)
    return pd.concat(frames)


def _nested(sequences):
    """sktime's nested_univ: a row per sequence, a column per channel, Series cells."""
    return pd.DataFrame({
        f"dim_{j}": [pd.Series(seq[:, j]) for seq in sequences]
        for j in range(sequences[0].shape[1])
    })


@pytest.mark.parametrize("container", [_multiindex, _nested])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_sktime_dataframes_are_read_by_their_type(Estimator, container, data_format):
    y = targets(Estimator, Y)
    reference = Estimator(**FAST).fit(RAGGED, y)
    est = Estimator(**FAST, data_format=data_format).fit(container(RAGGED), y)
    assert est.n_features_in_ == 3
    assert list(est.feature_names_in_) == ["dim_0", "dim_1", "dim_2"]
    np.testing.assert_array_equal(outputs(est, container(RAGGED)), outputs(reference, RAGGED))
    renamed = container(RAGGED).rename(columns={"dim_0": "x"})
    with pytest.raises(ValueError, match="channels.*'x'.*fitted on channels.*'dim_0'"):
        est.predict(renamed)


def test_malformed_sktime_dataframes_are_refused():
    clf = LSTMSequenceClassifier(**FAST)
    frame = _multiindex(RAGGED[:4], shuffle_steps=False)
    deeper = pd.concat({"panel": frame}, names=["panel"])
    with pytest.raises(ValueError, match="3 index levels.*two: \\(sequence, time\\)"):
        clf.fit(deeper, Y[:4])
    repeated = pd.concat([frame, frame.iloc[:1]])
    with pytest.raises(ValueError, match="1 row\\(s\\) of X repeat a \\(sequence, time\\) pair"):
        clf.fit(repeated, Y[:4])
    text = frame.assign(dim_1="a")
    with pytest.raises(ValueError, match="\\['dim_1'\\] of X are not numeric"):
        clf.fit(text, Y[:4])
    nested = _nested(RAGGED[:4])
    nested.iloc[1, 2] = pd.Series([1.0, 2.0])
    with pytest.raises(ValueError, match="Row 1 of X .* channels of different lengths"):
        clf.fit(nested, Y[:4])


def test_sequence_scaler_returns_the_layout_it_reads():
    last = SequenceScaler().fit(X3)
    first = SequenceScaler(data_format="channels_first").fit(_first(X3))
    np.testing.assert_allclose(first.mean_, last.mean_)
    np.testing.assert_allclose(first.transform(_first(X3)), _first(last.transform(X3)))
    back = first.inverse_transform(first.transform(_first(X3)))
    np.testing.assert_allclose(back, _first(X3))
    scaled = first.transform(_first(RAGGED))
    assert [s.shape for s in scaled] == [x.T.shape for x in RAGGED]
    np.testing.assert_allclose(scaled[3], last.transform(RAGGED)[3].T)
    from_frame = first.transform(_nested(RAGGED))  # ragged: one (n_features, T_i) array each
    np.testing.assert_allclose(from_frame[5], scaled[5])
    with pytest.warns(UserWarning, match="single time step"):
        SequenceScaler().fit(X3[:, None, :, 0])


def test_channels_first_windows_stay_views_through_a_pipeline():
    series = RNG.normal(size=(60, 2))
    labels = (series[:, 0] > 0).astype(int)
    windows = SlidingWindowTransformer(5, data_format="channels_first").fit_transform(series)
    expected = SlidingWindowTransformer(5).fit_transform(series).transpose(0, 2, 1)
    assert windows.shape == (60, 2, 5)
    np.testing.assert_array_equal(windows, expected)
    assert not windows.flags.writeable
    scaled = SequenceScaler(data_format="channels_first").fit(windows).transform(windows)
    assert np.shares_memory(scaled, scaled[0]) and scaled.base is not None
    assert scaled.transpose(0, 2, 1).strides[0] == scaled.strides[0]  # rows under windows
    first = make_pipeline(
        SlidingWindowTransformer(5, data_format="channels_first"),
        SequenceScaler(data_format="channels_first"),
        LSTMSequenceClassifier(**FAST, data_format="channels_first"),
    ).fit(series, labels)
    last = make_pipeline(
        SlidingWindowTransformer(5), SequenceScaler(), LSTMSequenceClassifier(**FAST)
    ).fit(series, labels)
    np.testing.assert_array_equal(first.predict_proba(series), last.predict_proba(series))


def _basic_motions(part):
    """BasicMotions as aeon's and sktime's loaders give it: numpy3D (n_cases, 6, 100)."""
    with gzip.open(DATA / f"BasicMotions_{part}.ts.gz", "rt") as file:
        sequences, labels = read_ts(file.read())
    return np.stack([s.T for s in sequences]), labels


def test_basic_motions_in_the_aeon_layout_goes_straight_in():
    X_train, y_train = _basic_motions("TRAIN")
    X_test, y_test = _basic_motions("TEST")
    assert X_train.shape == (40, 6, 100) and X_test.shape == (40, 6, 100)
    params = dict(max_epochs=100, random_state=0)
    clf = LSTMSequenceClassifier(**params, data_format="channels_first").fit(X_train, y_train)
    assert clf.n_features_in_ == 6
    assert clf.score(X_test, y_test) >= 0.9
    # The same data in sktime's nested DataFrame gives the same model.
    nested = pd.DataFrame({f"dim_{j}": [pd.Series(x[j]) for x in X_train] for j in range(6)})
    same = LSTMSequenceClassifier(**params).fit(nested, y_train)
    np.testing.assert_array_equal(same.predict_proba(X_test.transpose(0, 2, 1)),
                                  clf.predict_proba(X_test))

