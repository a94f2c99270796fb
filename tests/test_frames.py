"""sequences_from_long: long-format DataFrames to lists of sequences."""

import numpy as np
import pandas as pd
import pytest

from sklstm import LSTMSequenceClassifier, sequences_from_long


def long_frame(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for seq_id, length in [(7, 3), (2, 5), (4, 1)]:
        for t in rng.permutation(length):
            rows.append({"id": seq_id, "time": pd.Timestamp("2026-01-01") + pd.Timedelta(hours=int(t)),
                         "a": seq_id * 10 + t, "b": -float(t), "note": "x"})
    return pd.DataFrame(rows).sample(frac=1, random_state=seed)


def test_sequences_are_grouped_by_id_and_ordered_by_time():
    X, ids = sequences_from_long(long_frame(), "id", "time", ["a", "b"])
    assert ids.tolist() == [2, 4, 7]
    assert [x.shape for x in X] == [(5, 2), (1, 2), (3, 2)]
    np.testing.assert_array_equal(X[0][:, 0], [20, 21, 22, 23, 24])
    np.testing.assert_array_equal(X[2], [[70, 0], [71, -1], [72, -2]])
    # The row order of the table does not matter.
    X_other, _ = sequences_from_long(long_frame(seed=5), "id", "time", ["a", "b"])
    for x, x_other in zip(X, X_other):
        np.testing.assert_array_equal(x, x_other)


def test_output_feeds_the_classifier():
    frame = long_frame().drop(columns="note")
    X, ids = sequences_from_long(frame, "id", "time")  # every other column
    assert X[0].shape[1] == 2
    clf = LSTMSequenceClassifier(4, max_epochs=1, random_state=0).fit(X, ids % 2)
    assert clf.predict(X).shape == (3,)


@pytest.mark.parametrize(
    "change, args, error, match",
    [
        (lambda f: f, ("id", "time", ["a", "missing"]), ValueError, r"\['missing'\] are not in"),
        (lambda f: f, ("id", "time"), ValueError, r"\['note'\] are not numeric"),
        (lambda f: f[["id", "time"]], ("id", "time"), ValueError, "No feature columns"),
        (lambda f: f.iloc[:0], ("id", "time", ["a"]), ValueError, "no rows"),
        (lambda f: f.assign(time=f["time"].where(f["a"] != 20)), ("id", "time", ["a"]),
         ValueError, "'time' has missing values"),
        (lambda f: pd.concat([f, f.iloc[:1]]), ("id", "time", ["a"]), ValueError,
         r"1 row\(s\) repeat an \(id, time\) pair"),
        (lambda f: f.to_numpy(), ("id", "time"), TypeError, "expects a pandas DataFrame"),
    ],
)
def test_bad_tables_are_refused(change, args, error, match):
    with pytest.raises(error, match=match):
        sequences_from_long(change(long_frame()), *args)
