"""Long-format tables (one row per id and time step) to lists of sequences."""

import numpy as np


def sequences_from_long(frame, id_column, time_column, feature_columns=None):
    """Turn a long-format DataFrame into one sequence per id, ordered by time.

    Long format has one row per observation: an id column says which
    sequence the row belongs to, a time column orders the rows within it,
    and the other columns hold the features. This is the layout of event
    logs, sensor databases and tsfresh-style tables; the classifier wants a
    list of ``(n_timesteps_i, n_features)`` arrays instead.

    Parameters
    ----------
    frame : pandas.DataFrame
        The observations, in any row order.
    id_column : str
        Column naming each row's sequence. Sequences come out in the sorted
        order of the ids.
    time_column : str
        Column ordering the rows of a sequence (numbers or datetimes). Each
        (id, time) pair must be unique.
    feature_columns : list of str, default=None
        Numeric columns to use as features, in this order. None takes every
        column except the id and time columns.

    Returns
    -------
    X : list of ndarray of shape (n_timesteps_i, n_features)
        One float64 array per id; sequences may have different lengths.
    ids : ndarray of shape (n_sequences,)
        The id of each sequence of ``X``, e.g. to look up its label.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklstm import sequences_from_long
    >>> frame = pd.DataFrame({
    ...     "sensor": ["b", "a", "a", "b", "a"],
    ...     "t": [2, 2, 1, 1, 3],
    ...     "value": [0.4, 0.2, 0.1, 0.3, 0.5],
    ... })
    >>> X, ids = sequences_from_long(frame, "sensor", "t")
    >>> ids
    array(['a', 'b'], dtype=object)
    >>> X[0].ravel(), X[1].ravel()
    (array([0.1, 0.2, 0.5]), array([0.3, 0.4]))
    """
    if not hasattr(frame, "columns") or not hasattr(frame, "sort_values"):
        raise TypeError(
            f"sequences_from_long expects a pandas DataFrame, got {type(frame).__name__}."
        )
    if feature_columns is None:
        feature_columns = [c for c in frame.columns if c not in (id_column, time_column)]
    else:
        feature_columns = list(feature_columns)
    needed = [id_column, time_column, *feature_columns]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(
            f"Columns {missing} are not in the DataFrame; its columns are "
            f"{list(frame.columns)}."
        )
    if not feature_columns:
        raise ValueError("No feature columns: the DataFrame has only the id and time columns.")
    if len(frame) == 0:
        raise ValueError("The DataFrame has no rows, so there are no sequences.")
    for column in (id_column, time_column):
        if frame[column].isna().any():
            raise ValueError(
                f"Column {column!r} has missing values; every row needs an id and a time."
            )
    not_numeric = [c for c in feature_columns if not _is_numeric(frame[c])]
    if not_numeric:
        raise ValueError(
            f"Feature columns {not_numeric} are not numeric; encode them as numbers "
            "or leave them out with feature_columns."
        )
    ordered = frame.sort_values([id_column, time_column], kind="stable")
    repeated = ordered.duplicated([id_column, time_column])
    if repeated.any():
        first = ordered.loc[repeated, [id_column, time_column]].iloc[0].tolist()
        raise ValueError(
            f"{int(repeated.sum())} row(s) repeat an (id, time) pair, e.g. {first}: "
            "their order within the sequence is ambiguous. Aggregate or drop them first."
        )
    values = ordered[feature_columns].to_numpy(dtype=np.float64)
    id_values = ordered[id_column].to_numpy()
    starts = np.flatnonzero(np.r_[True, id_values[1:] != id_values[:-1]])
    return np.split(values, starts[1:]), id_values[starts]


def _is_numeric(column):
    return column.dtype.kind in "biuf"
