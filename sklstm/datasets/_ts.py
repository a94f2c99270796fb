"""A reader of the UCR/UEA archives' ``.ts`` text format."""

import numpy as np


def read_ts(text):
    """Return the sequences and labels of a ``.ts`` file's text.

    Header lines (``#`` comments, ``@`` tags) are skipped up to ``@data``;
    each data line holds the channels, separated by ``:`` (each a
    comma-separated series), then the class label.

    Returns
    -------
    sequences : list of ndarray of shape (n_timesteps_i, n_channels)
        float64 values, one array per line.
    labels : ndarray of str
        The class labels, as written.

    Examples
    --------
    >>> sequences, labels = read_ts("@data\\n1,2,3:4,5,6:a\\n7,8:9,10:b\\n")
    >>> [s.shape for s in sequences], labels.tolist()
    ([(3, 2), (2, 2)], ['a', 'b'])
    """
    sequences, labels, in_data = [], [], False
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.lower() == "@data":
            in_data = True
        elif in_data:
            *channels, label = line.split(":")
            series = [np.array(c.split(","), dtype=np.float64) for c in channels]
            if len({len(s) for s in series}) != 1:
                raise ValueError(f"channels of unequal length in line {line[:40]}...")
            sequences.append(np.stack(series, axis=1))
            labels.append(label)
    return sequences, np.array(labels)
