"""Sliding windows: SlidingWindowTransformer, make_windows and map_steps."""

import numpy as np
import pytest
from sklearn.model_selection import TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline

from sklstm import (
    LSTMSequenceClassifier,
    SequenceScaler,
    SlidingWindowTransformer,
    make_windows,
)
from sklstm._data import check_sequences
from sklstm._views import map_steps, window_view

RNG = np.random.RandomState(0)
SERIES = RNG.normal(size=(20, 3))


def naive_windows(series, window_size, pad_row):
    """One copied window per row, padded in front with ``pad_row``."""
    pad = np.broadcast_to(pad_row, (window_size - 1, series.shape[1]))
    padded = np.vstack([pad, series])
    return np.stack([padded[t : t + window_size] for t in range(len(series))])


@pytest.mark.parametrize("window_size", [1, 2, 5, 20])
def test_transformer_equals_naive_windows(window_size):
    edge = SlidingWindowTransformer(window_size).fit_transform(SERIES)
    np.testing.assert_array_equal(edge, naive_windows(SERIES, window_size, SERIES[0]))
    constant = SlidingWindowTransformer(
        window_size, padding="constant", fill_value=-7.5
    ).fit_transform(SERIES)
    np.testing.assert_array_equal(constant, naive_windows(SERIES, window_size, -7.5))


def test_window_never_looks_past_its_row():
    windows = SlidingWindowTransformer(4).fit_transform(SERIES)
    changed = SERIES.copy()
    changed[10:] += 100.0
    windows_changed = SlidingWindowTransformer(4).fit_transform(changed)
    np.testing.assert_array_equal(windows[:10], windows_changed[:10])
    assert np.all(windows[:, -1] == SERIES)  # each window ends at its own row


def test_transformer_returns_read_only_overlapping_view():
    windows = SlidingWindowTransformer(8).fit_transform(SERIES)
    assert not windows.flags.writeable
    assert np.shares_memory(windows[5], windows[6])  # windows are not copies
    assert windows.strides[0] == windows.strides[1]


@pytest.mark.parametrize(
    "dtype, expected", [(np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64)]
)
def test_transformer_dtype(dtype, expected):
    out = SlidingWindowTransformer(3).fit_transform((SERIES * 10).astype(dtype))
    assert out.dtype == expected


def test_transformer_dataframe_keeps_feature_names():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(SERIES, columns=["a", "b", "c"])
    transformer = SlidingWindowTransformer(3).fit(frame)
    assert list(transformer.feature_names_in_) == ["a", "b", "c"]
    with pytest.warns(UserWarning, match="fitted with feature names"):
        from_array = transformer.transform(SERIES)
    np.testing.assert_array_equal(transformer.transform(frame), from_array)


@pytest.mark.parametrize(
    "X, params, match",
    [
        (SERIES[:4], {"window_size": 5}, "window_size=5 is longer than the series"),
        (SERIES, {"window_size": 0}, "window_size"),
        (SERIES, {"window_size": -3}, "window_size"),
        (SERIES, {"window_size": 2.5}, "window_size"),
        (SERIES, {"padding": "zeros"}, "padding"),
        (SERIES, {"padding": "constant", "fill_value": np.nan}, "fill_value"),
        (np.where(SERIES > 1, np.nan, SERIES), {}, "NaN"),
        (np.where(SERIES > 1, np.inf, SERIES), {}, "infinity"),
        (SERIES[:, :, None], {}, "takes one series, a 2D array"),
        (SERIES[:, 0], {}, "Expected 2D array"),
        (np.empty((0, 3)), {}, "0 sample"),
        ([["a", "b"], ["c", "d"]], {"window_size": 1}, "could not convert|dtype"),
    ],
)
def test_transformer_bad_input(X, params, match):
    with pytest.raises(ValueError, match=match):
        SlidingWindowTransformer(**{"window_size": 3, **params}).fit(X)


def test_fit_rejects_labels_of_another_length():
    with pytest.raises(ValueError, match="X has 20 time step.*19 label"):
        SlidingWindowTransformer(3).fit(SERIES, np.arange(19))


def test_transform_rejects_series_shorter_than_window():
    transformer = SlidingWindowTransformer(5).fit(SERIES)
    with pytest.raises(ValueError, match="has 3 sample"):
        transformer.transform(SERIES[:3])
    with pytest.raises(ValueError, match="3 features"):
        transformer.transform(SERIES[:, :2])


def test_pipeline_under_time_series_split_learns_a_lagged_label():
    rng = np.random.RandomState(1)
    series = rng.normal(size=(600, 2)).astype(np.float32)
    y = np.r_[0, 0, (series[:-2, 0] > 0).astype(int)]  # the sign two steps back
    pipe = make_pipeline(
        SlidingWindowTransformer(4),
        SequenceScaler(),
        LSTMSequenceClassifier(hidden_size=16, max_epochs=30, random_state=0),
    )
    scores = cross_val_score(pipe, series, y, cv=TimeSeriesSplit(n_splits=3))
    # The last row alone says nothing about the label (chance is 0.5); the
    # window holds it. Measured: 0.82, 0.93, 0.97 over the three folds.
    assert scores.mean() > 0.8, scores


def naive_make_windows(series, labels, window_size, step, horizon):
    starts = range(0, len(series) - window_size - horizon + 1, step)
    X = np.stack([series[s : s + window_size] for s in starts])
    y = np.array([labels[s + window_size - 1 + horizon] for s in starts])
    return X, y


@pytest.mark.parametrize(
    "window_size, step, horizon",
    [(1, 1, 0), (3, 1, 0), (3, 2, 1), (4, 4, 0), (3, 5, 2), (20, 1, 0), (19, 1, 1)],
)
def test_make_windows_equals_naive(window_size, step, horizon):
    labels = np.arange(len(SERIES)) * 10
    X, y = make_windows(SERIES, labels, window_size=window_size, step=step, horizon=horizon)
    X_naive, y_naive = naive_make_windows(SERIES, labels, window_size, step, horizon)
    assert len(X) == (len(SERIES) - window_size - horizon) // step + 1
    np.testing.assert_array_equal(X, X_naive)
    np.testing.assert_array_equal(y, y_naive)
    assert not X.flags.writeable
    assert np.shares_memory(X, SERIES)  # a view of the series itself


def test_make_windows_univariate_and_string_labels():
    series = np.arange(6.0)
    X, y = make_windows(series, list("abcdef"), window_size=2, step=2)
    assert X.shape == (3, 2, 1)
    assert list(y) == ["b", "d", "f"]
    assert make_windows(series, window_size=6).shape == (1, 6, 1)


def test_make_windows_panel_never_crosses_series():
    panel = [np.full((n, 2), 1000.0 * k) + np.arange(n)[:, None] for k, n in enumerate([7, 5, 9])]
    labels = [np.full(len(s), k) for k, s in enumerate(panel)]
    X, y = make_windows(panel, labels, window_size=3, step=1, horizon=1)
    assert len(X) == (7 - 4 + 1) + (5 - 4 + 1) + (9 - 4 + 1)
    series_of_step = X[:, :, 0] // 1000
    assert np.all(series_of_step == series_of_step[:, :1])  # one series per window
    np.testing.assert_array_equal(series_of_step[:, 0], y)
    assert np.all(np.diff(X[:, :, 0], axis=1) == 1)  # consecutive rows
    assert make_windows(panel, window_size=5).shape == (3 + 1 + 5, 5, 2)


@pytest.mark.parametrize(
    "series, labels, params, match",
    [
        (SERIES, None, {"window_size": 21}, "20 time step.*at least 21"),
        (SERIES, None, {"window_size": 18, "horizon": 3}, "plus horizon=3"),
        (SERIES, None, {"window_size": 0}, "window_size"),
        (SERIES, None, {"window_size": 2, "step": 0}, "step"),
        (SERIES, None, {"window_size": 2, "horizon": -1}, "horizon"),
        (SERIES, np.arange(19), {"window_size": 2}, "20 time step.*19 label"),
        (SERIES, 3, {"window_size": 2}, "labels"),
        (SERIES[None], None, {"window_size": 2}, "must be one series"),
        (np.where(SERIES > 1, np.nan, SERIES), None, {"window_size": 2}, "NaN"),
        ([SERIES, SERIES[:2]], None, {"window_size": 3}, r"series\[1\] has 2 time step"),
        ([SERIES, SERIES[:, :2]], None, {"window_size": 3}, r"series\[1\] has 2 features"),
        ([SERIES, SERIES], np.arange(20), {"window_size": 3}, "one label array per series"),
        ([SERIES, SERIES], [np.arange(20)], {"window_size": 3}, "one label array per series"),
        ([SERIES, SERIES], [np.arange(20), None], {"window_size": 3}, r"labels\[1\] is None"),
        ([SERIES, SERIES], [np.arange(20), np.arange(3)], {"window_size": 3},
         r"series\[1\] has 20 time step.*3 label"),
    ],
)
def test_make_windows_bad_input(series, labels, params, match):
    with pytest.raises(ValueError, match=match):
        make_windows(series, labels, **params)


@pytest.mark.parametrize("step", [1, 2, 3])
@pytest.mark.parametrize("order", ["C", "F"])
def test_map_steps_maps_rows_once_and_keeps_the_view(step, order):
    rows = np.asarray(RNG.normal(size=(30, 3)), order=order)
    windows = window_view(rows, 4, step)
    mapped = map_steps(windows, lambda v: v * 2.0 + 1.0)
    np.testing.assert_array_equal(mapped, np.array(windows) * 2.0 + 1.0)
    assert np.shares_memory(mapped[0], mapped[1])  # still overlapping windows
    assert not mapped.flags.writeable


@pytest.mark.parametrize(
    "X", [RNG.normal(size=(5, 4, 3)), window_view(SERIES, 4, step=4), SERIES[None, :4]]
)
def test_map_steps_on_other_arrays_is_plain(X):
    mapped = map_steps(X, lambda v: v - 1.0)
    np.testing.assert_array_equal(mapped, np.array(X) - 1.0)
    assert mapped.flags.writeable  # a new array, not a view


def test_validation_keeps_windows_a_view_also_when_casting():
    windows = SlidingWindowTransformer(6).fit_transform(SERIES)  # float64
    _, seqs = check_sequences(LSTMSequenceClassifier(), windows, reset=True)
    assert seqs.values.dtype == np.float32
    assert np.shares_memory(seqs.values[0], seqs.values[1])
    np.testing.assert_array_equal(seqs.values, np.array(windows).astype(np.float32))
    batch, _ = seqs.batch(np.array([3, 0]))
    np.testing.assert_array_equal(batch["x"].numpy(), seqs.values[[3, 0]])


def test_classifier_on_windows_equals_classifier_on_copies():
    windows = SlidingWindowTransformer(5).fit_transform(SERIES.astype(np.float32))
    y = np.arange(len(SERIES)) % 2
    params = dict(hidden_size=4, max_epochs=3, random_state=0)
    on_view = LSTMSequenceClassifier(**params).fit(windows, y)
    on_copy = LSTMSequenceClassifier(**params).fit(np.array(windows), y)
    np.testing.assert_array_equal(
        on_view.predict_proba(windows), on_copy.predict_proba(np.array(windows))
    )


def test_a_fill_value_beyond_float64_is_refused():
    windows = SlidingWindowTransformer(3, padding="constant", fill_value=10**400)
    with pytest.raises(ValueError, match="fill_value=.* too large for a float"):
        windows.fit(np.zeros((5, 1)))
