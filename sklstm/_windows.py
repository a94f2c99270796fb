"""Sliding windows over long series: ``make_windows`` and ``SlidingWindowTransformer``.

The windows are read-only strided views of the series (``_views``).
"""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils import check_array
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted, validate_data

from ._data import DATA_FORMATS, check_output_container
from ._views import window_view

_FLOATS = [np.float64, np.float32]


def _check_series(series, name):
    """Validate one series: a 2D (n_timesteps, n_features) or 1D float array."""
    array = check_array(
        series, dtype=_FLOATS, ensure_2d=False, allow_nd=True, input_name=name
    )
    if array.ndim == 1:
        return array[:, None]
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be one series, a 2D array (n_timesteps, n_features) or "
            f"a 1D array; got an array of shape {array.shape}. For several "
            "series, pass a list of 2D arrays."
        )
    return array


def _n_windows(n_rows, window_size, step, horizon, name):
    n = (n_rows - window_size - horizon) // step + 1
    if n < 1:
        raise ValueError(
            f"{name} has {n_rows} time step(s), too few for one window of "
            f"window_size={window_size}"
            + (f" plus horizon={horizon}" if horizon else "")
            + f": it needs at least {window_size + horizon}. Use a smaller "
            "window_size or a longer series."
        )
    return n


def _check_labels(labels, n_rows, name):
    labels = np.asarray(labels)
    if labels.ndim == 0 or len(labels) != n_rows:
        found = "a scalar" if labels.ndim == 0 else f"{len(labels)} label(s)"
        raise ValueError(
            f"{name} has {n_rows} time step(s) but its labels are {found}; "
            "give one label per time step (row)."
        )
    return labels


@validate_params(
    {
        "series": ["array-like", list, tuple],
        "labels": ["array-like", list, tuple, None],
        "window_size": [Interval(Integral, 1, None, closed="left")],
        "step": [Interval(Integral, 1, None, closed="left")],
        "horizon": [Interval(Integral, 0, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def make_windows(series, labels=None, *, window_size, step=1, horizon=0):
    """Cut a series, or a panel of series, into fixed-size windows.

    Window ``i`` holds rows ``i * step`` to ``i * step + window_size - 1`` of
    its series, oldest first. Its label is the label ``horizon`` rows after
    its last row (``horizon=0``: the last row's own label). A series of
    ``n`` rows gives ``(n - window_size - horizon) // step + 1`` windows;
    trailing rows that do not complete a window are not used.

    Parameters
    ----------
    series : array-like of shape (n_timesteps, n_features) or (n_timesteps,), \
            or list of them
        One series whose rows are consecutive time steps, or a list or tuple
        of series (a panel). Windows never cross from one series into the
        next.
    labels : array-like of shape (n_timesteps,) or list of them, default=None
        One label per row (per row of each series for a panel).
    window_size : int
        Time steps per window.
    step : int, default=1
        Rows between the starts of consecutive windows.
    horizon : int, default=0
        How many rows after a window's last row its label is taken from.

    Returns
    -------
    X : ndarray of shape (n_windows, window_size, n_features)
        For one series, a read-only strided view: no window is copied. For a
        panel, one array holding every window (a copy).
    y : ndarray of shape (n_windows,)
        The windows' labels; only returned when ``labels`` is given.

    See Also
    --------
    SlidingWindowTransformer : One window per row, for use in a Pipeline.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import make_windows
    >>> series = np.arange(10.0)
    >>> X, y = make_windows(series, series * 10, window_size=3, step=2, horizon=1)
    >>> X.shape
    (4, 3, 1)
    >>> X[1, :, 0], y[1]
    (array([2., 3., 4.]), np.float64(50.0))
    """
    window_size, step, horizon = int(window_size), int(step), int(horizon)  # bools
    if isinstance(series, (list, tuple)) and len(series) and np.ndim(series[0]) > 0:
        return _panel_windows(series, labels, window_size, step, horizon)
    X, y = _series_windows(series, labels, "series", window_size, step, horizon)
    return X if labels is None else (X, y)


def _series_windows(series, labels, name, window_size, step, horizon):
    rows = _check_series(series, name)
    n = _n_windows(len(rows), window_size, step, horizon, name)
    X = window_view(rows, window_size, step, n)
    if labels is None:
        return X, None
    labels = _check_labels(labels, len(rows), name)
    return X, labels[np.arange(n) * step + window_size - 1 + horizon]


def _panel_windows(panel, labels, window_size, step, horizon):
    if labels is not None and (
        not isinstance(labels, (list, tuple)) or len(labels) != len(panel)
    ):
        raise ValueError(
            f"series is a panel of {len(panel)} series, so labels must be a list "
            "or tuple with one label array per series."
        )
    Xs, ys = [], []
    for i, one in enumerate(panel):
        one_labels = None if labels is None else labels[i]
        if labels is not None and one_labels is None:
            raise ValueError(f"labels[{i}] is None; give one label array per series.")
        X, y = _series_windows(one, one_labels, f"series[{i}]", window_size, step, horizon)
        if Xs and X.shape[2] != Xs[0].shape[2]:
            raise ValueError(
                f"series[{i}] has {X.shape[2]} features but series[0] has "
                f"{Xs[0].shape[2]}; all series of a panel need the same features."
            )
        Xs.append(X)
        ys.append(y)
    X = np.concatenate(Xs)
    return X if labels is None else (X, np.concatenate(ys))


class SlidingWindowTransformer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Turn a long series into one window per time step, for a Pipeline.

    Row ``t`` of the output is the window of input rows ``t - window_size + 1``
    to ``t`` (oldest first): it never looks past row ``t``. The number of rows
    is kept, so labels stay aligned in a ``Pipeline`` and under any
    cross-validation splitter, ``TimeSeriesSplit`` above all. The first
    ``window_size - 1`` windows reach before the first row; ``padding`` says
    how they are filled.

    Parameters
    ----------
    window_size : int, default=32
        Time steps per window.
    padding : {"edge", "constant"}, default="edge"
        How the rows before the first row are filled: ``"edge"`` repeats the
        first row, ``"constant"`` uses ``fill_value``.
    fill_value : float, default=0.0
        The value of padded rows when ``padding="constant"``.
    data_format : {"channels_last", "channels_first"}, default="channels_last"
        The layout of the windows: ``(n_timesteps, window_size,
        n_features)``, or channels first ``(n_timesteps, n_features,
        window_size)`` for estimators that read aeon's and sktime's layout
        (set the same ``data_format`` on the steps after it). The series
        itself is a table either way, one row per time step.

    Attributes
    ----------
    n_features_in_ : int
        Number of features (columns) of the series seen in ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``fit`` was given a DataFrame with string names.

    See Also
    --------
    make_windows : Windows with a step and a label horizon, standalone.
    SequenceScaler : Standardizes the windows without copying them.

    Notes
    -----
    ``transform`` copies the series once, with ``window_size - 1`` padding
    rows in front, and returns a read-only strided view of that copy: the
    windows take the memory of the series, not ``window_size`` times it.
    ``SequenceScaler`` and ``LSTMSequenceClassifier`` keep it that way: they
    scale the rows under the windows and copy one batch at a time. Windows at
    the start of a cross-validation test fold are padded rather than filled
    from the training rows before them.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import SlidingWindowTransformer
    >>> series = np.arange(8.0).reshape(4, 2)
    >>> windows = SlidingWindowTransformer(window_size=3).fit_transform(series)
    >>> windows.shape
    (4, 3, 2)
    >>> windows[0]
    array([[0., 1.],
           [0., 1.],
           [0., 1.]])
    >>> windows[3]
    array([[2., 3.],
           [4., 5.],
           [6., 7.]])
    """

    _parameter_constraints = {
        "window_size": [Interval(Integral, 1, None, closed="left")],
        "padding": [StrOptions({"edge", "constant"})],
        "fill_value": [Interval(Real, None, None, closed="neither")],
        "data_format": [StrOptions(set(DATA_FORMATS))],
    }

    def __init__(
        self, window_size=32, *, padding="edge", fill_value=0.0, data_format="channels_last"
    ):
        self.window_size = window_size
        self.padding = padding
        self.fill_value = fill_value
        self.data_format = data_format

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the series; there is nothing to learn.

        Parameters
        ----------
        X : array-like of shape (n_timesteps, n_features)
            The series, one row per time step.
        y : array-like of shape (n_timesteps,), default=None
            Labels, one per row, as a Pipeline passes them; only their
            number is checked.

        Returns
        -------
        self : object
            The transformer.
        """
        self._check_params()
        rows = self._check_series(X, reset=True)
        if y is not None:
            _check_labels(y, len(rows), "X")
        return self

    def transform(self, X):
        """Return one window per row, ending at that row.

        Parameters
        ----------
        X : array-like of shape (n_timesteps, n_features)
            The series, one row per time step.

        Returns
        -------
        windows : ndarray of shape (n_timesteps, window_size, n_features)
            A read-only strided view; float32 input stays float32, anything
            else becomes float64. With ``data_format="channels_first"``,
            of shape ``(n_timesteps, n_features, window_size)``. Windows
            are not a table: ``set_output(transform="pandas")`` (or
            ``"polars"``) makes ``transform`` raise an error that says so.
        """
        check_is_fitted(self)
        rows = self._check_series(X, reset=False)
        w = self.window_size
        padded = np.empty((len(rows) + w - 1, rows.shape[1]), dtype=rows.dtype)
        padded[w - 1 :] = rows
        padded[: w - 1] = rows[0] if self.padding == "edge" else self.fill_value
        windows = window_view(padded, w)
        if self.data_format == "channels_first":
            windows = windows.transpose(0, 2, 1)
        return check_output_container(self, windows)

    def _check_params(self):
        try:
            float(self.fill_value)
        except OverflowError:
            raise ValueError(
                f"fill_value={self.fill_value!r} is too large for a float; pass a "
                "float within the range of float64."
            ) from None

    def _check_series(self, X, reset):
        rows = validate_data(self, X, reset=reset, dtype=_FLOATS, allow_nd=True)
        if rows.ndim != 2:
            raise ValueError(
                f"{type(self).__name__} takes one series, a 2D array (n_timesteps, "
                f"n_features); got an array of shape {rows.shape}. Data that is "
                "already sequences needs no windows; for a panel of series use "
                "sklstm.make_windows."
            )
        if len(rows) < self.window_size:
            raise ValueError(
                f"window_size={self.window_size} is longer than the series: X has "
                f"{len(rows)} sample(s) (time steps). Use a smaller window_size or "
                "a longer series, e.g. prepend the rows that precede it."
            )
        return rows

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
