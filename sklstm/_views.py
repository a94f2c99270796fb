"""Windows as read-only strided views, and per-step maps that keep them views.

A window view never copies a window: element ``[i, t, j]`` of the windows
with ``step`` over ``rows`` is ``rows[i * step + t, j]``. ``map_steps``
applies a per-step function (a cast, a scaling) to such a view once per
underlying row and returns a view of the same shape, so windows stay views
through validation (``_data``) and scaling (``_scaler``).
"""

from numpy.lib.stride_tricks import as_strided


def window_view(rows, window_size, step=1, n_windows=None):
    """Read-only view ``(n_windows, window_size, n_features)`` of 2D ``rows``."""
    if n_windows is None:
        n_windows = (len(rows) - window_size) // step + 1
    row_stride, feature_stride = rows.strides
    return as_strided(
        rows,
        shape=(n_windows, window_size, rows.shape[1]),
        strides=(step * row_stride, row_stride, feature_stride),
        writeable=False,
    )


def _window_rows(X):
    """Return ``(rows, step)`` if the 3D ``X`` is overlapping windows, else None."""
    if X.ndim != 3 or len(X) < 2 or X.size == 0:
        return None
    (n_windows, window_size, n_features), (s0, s1, s2) = X.shape, X.strides
    if s0 <= 0 or s1 <= 0 or s0 % s1 or s0 // s1 >= window_size:
        return None  # not overlapping windows: X holds no row twice
    step = s0 // s1
    n_rows = (n_windows - 1) * step + window_size
    rows = as_strided(X, shape=(n_rows, n_features), strides=(s1, s2), writeable=False)
    return rows, step


def map_steps(X, func):
    """Apply the element-wise ``func`` to the 3D ``X``, windows staying views.

    If ``X`` is a view of overlapping windows over some rows (as
    ``SlidingWindowTransformer`` returns), ``func`` maps the rows once and the
    result is the same windows over the mapped rows: memory of the series,
    not of the windows. Any other array is simply ``func(X)``.
    """
    found = _window_rows(X)
    if found is None:
        return func(X)
    rows, step = found
    return window_view(func(rows), X.shape[1], step, len(X))
