"""Sequences read from arrays on disk, one batch at a time.

``np.memmap``, ``h5py.Dataset`` and ``zarr.Array`` inputs of the estimators'
``fit``, ``predict`` and ``predict_proba`` are not loaded: ``DiskArray``
reads the rows of each batch when the batch is made, casts them and checks
that they are finite then. Shuffled training reads the data in windows of
a few batches' worth of sequences, each gathered from whole blocks of
consecutive sequences (the storage's chunks along the first axis): the
order of the blocks is shuffled every epoch, then the sequences within each
window. Memory grows by a window, not by the data.
"""

import math

import numpy as np

# Sequences in a shuffled window: this many batches (at least one block).
WINDOW_BATCHES = 4
# Block of consecutive sequences of a memmap (no chunks): about this many bytes.
MEMMAP_BLOCK_BYTES = 2**18


def is_on_disk(X):
    """Whether ``X`` is an array on disk that sklstm reads a batch at a time."""
    if isinstance(X, np.memmap):
        return True
    module = type(X).__module__.split(".")[0]
    return module in ("h5py", "zarr") and hasattr(X, "shape") and hasattr(X, "dtype")


class DiskArray:
    """A channels-last 3D view ``(n, steps, features)`` of an array on disk.

    ``source`` is 2D ``(n, steps)`` (``table``: univariate) or 3D, in the
    layout of the estimator (``channels_first`` is transposed per read).
    Indexing with a slice or an integer array returns an in-memory array of
    ``dtype``; rows are read in increasing order, in runs of consecutive
    rows, as chunked storage reads fastest.
    """

    def __init__(self, source, dtype, channels_first=False):
        self.source = source
        self.dtype = np.dtype(dtype)
        self.channels_first = channels_first
        shape = tuple(int(s) for s in source.shape)
        if len(shape) == 2:
            shape = (*shape, 1)
        elif channels_first:
            shape = (shape[0], shape[2], shape[1])
        self.shape = shape
        chunks = getattr(source, "chunks", None)
        if isinstance(chunks, tuple) and chunks and int(chunks[0]) > 0:
            self.block = int(chunks[0])
        else:
            row = max(1, math.prod(shape[1:]) * np.dtype(source.dtype).itemsize)
            self.block = max(1, MEMMAP_BLOCK_BYTES // row)

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, indices):
        if isinstance(indices, slice):
            return self._prepare(self.source[indices], indices.indices(len(self))[0])
        indices = np.asarray(indices)
        order = np.argsort(indices, kind="stable")
        wanted = indices[order]
        unique, inverse = np.unique(wanted, return_inverse=True)
        # Runs of consecutive rows, each read with one slice.
        breaks = np.flatnonzero(np.diff(unique) != 1) + 1
        parts = [
            self.source[int(run[0]) : int(run[-1]) + 1] for run in np.split(unique, breaks)
        ] if len(unique) else []
        rows = np.concatenate(parts) if len(parts) > 1 else (
            np.asarray(parts[0]) if parts else np.empty((0, *self.source.shape[1:]), self.source.dtype)
        )
        rows = self._prepare(rows, int(unique[0]) if len(unique) else 0)
        if len(unique) == len(indices) and np.array_equal(order, np.arange(len(order))):
            return rows  # sorted, distinct indices (a window): no reordering copy
        out = np.empty_like(rows[: len(indices)]) if len(indices) else rows[:0]
        if len(indices):
            out[order] = rows[inverse]
        return out

    def _prepare(self, rows, first):
        rows = np.asarray(rows)
        if rows.ndim == 2:
            rows = rows[:, :, None]
        elif self.channels_first:
            rows = rows.transpose(0, 2, 1)
        with np.errstate(over="ignore", invalid="ignore"):
            values = np.ascontiguousarray(rows, dtype=self.dtype)
            finite = values.dtype.kind != "f" or np.isfinite(np.add.reduce(values, axis=None))
        if not finite:
            bad = np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(axis=1))
            raise ValueError(
                f"X (on disk, read one batch at a time) holds NaN or infinite values, "
                f"also once cast to {self.dtype}, in the batch starting at sequence "
                f"{first} (the {bad[0] + 1}th sequence read). Values must be finite; "
                "clean the stored data, or load and impute it in memory."
            )
        return values


def check_disk_array(X, dtype, channels_first):
    """Validate the shape and dtype of an on-disk ``X``; return ``(layout, DiskArray)``.

    Nothing is read but the metadata: the values are checked as batches
    are read.
    """
    shape = tuple(X.shape)
    kind = np.dtype(X.dtype).kind
    if kind not in "biuf":
        raise ValueError(
            f"X on disk has dtype {X.dtype}; sequences must hold numbers (integer or "
            "floating point)."
        )
    if len(shape) not in (2, 3):
        raise ValueError(
            f"X on disk has shape {shape}; sklstm reads a 2D (n_samples, n_timesteps) "
            "or 3D array of sequences from disk. Ragged sequences on disk are not read "
            "a batch at a time: pad them into one 3D array, or load them into memory "
            "as a list of arrays."
        )
    if 0 in shape:
        raise ValueError(f"X on disk has shape {shape}: no sequences, steps or features.")
    return ("table" if len(shape) == 2 else "sequences"), DiskArray(X, dtype, channels_first)


def shuffled_windows(dataset, batch_size, generator):
    """The positions of ``dataset`` in shuffled windows: blocks shuffled, then sequences.

    Returns a list of integer arrays, each window ``WINDOW_BATCHES`` batches
    (or a block, if larger, rounded to whole batches) of positions, the
    last one shorter. Positions are those of the dataset (a subset maps
    them to rows); its blocks are ``block`` consecutive positions.
    """
    import torch

    n = len(dataset)
    block = dataset.values.block
    blocks = torch.randperm(-(-n // block), generator=generator).numpy()
    order = np.concatenate([np.arange(b * block, min((b + 1) * block, n)) for b in blocks])
    size = batch_size * max(WINDOW_BATCHES, -(-block // batch_size))
    windows = []
    for start in range(0, n, size):
        window = order[start : start + size]
        windows.append(window[torch.randperm(len(window), generator=generator).numpy()])
    return windows
