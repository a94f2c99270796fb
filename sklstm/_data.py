"""Validation of sequence input and batching for the network.

Three layouts are accepted (see ``check_sequences``), each either
channels-last (time steps, then features) or channels-first (features, then
time steps: aeon's and sktime's numpy3D), and sktime's DataFrame
containers, whose layout their type gives. Whatever the layout,
validated data is a ``Sequences`` object: either one 3D float32 array (all
sequences equally long) or the concatenated time steps of ragged sequences
with their offsets. Batches are copied from it one at a time, so a large
(or strided, read-only) input is never copied as a whole.
"""

import math
import warnings
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import assert_all_finite, check_array
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import validate_data

from ._disk import DiskArray, check_disk_array, is_on_disk, shuffled_windows
from ._views import map_steps

_NUMERIC_KINDS = "biuf"


class Targets(NamedTuple):
    """A batch's targets: ``y`` and the loss weights (None: a plain mean)."""

    y: torch.Tensor
    weight: torch.Tensor | None


class Sequences(torch.utils.data.Dataset):
    """Validated sequences, optionally with targets and weights.

    Parameters
    ----------
    values : ndarray
        Either a 3D array ``(n_samples, n_timesteps, n_features)`` or, with
        ``offsets``, a 2D array holding the time steps of all sequences one
        after the other.
    offsets : ndarray of int64 or None
        Where each ragged sequence starts in ``values`` (plus the end).
    y, weight : ndarray or None
        Targets (class codes, or a regressor's standardized values) and
        per-sample loss weights, one per sequence;
        ``weight`` None means every sample counts the same.
    index : ndarray of int or None
        The sequences this object exposes (a subset), without copying any.
    """

    def __init__(self, values, offsets=None, y=None, weight=None, index=None):
        self.values = values
        self.offsets = offsets
        self.y = y
        self.weight = weight
        self.index = index
        self.lengths = None if offsets is None else np.diff(offsets)

    @property
    def n_features(self):
        return self.values.shape[-1]

    @property
    def longest(self):
        """Length of the longest sequence (0 when there are none)."""
        if self.offsets is None:
            return self.values.shape[1]
        lengths = self._own_lengths()
        return int(lengths.max()) if len(lengths) else 0

    @property
    def mean_length(self):
        """Mean length of the sequences (0 when there are none)."""
        if self.offsets is None:
            return self.values.shape[1]
        lengths = self._own_lengths()
        return float(lengths.mean()) if len(lengths) else 0.0

    def _own_lengths(self):
        """The lengths of the sequences this object exposes (ragged only)."""
        return self.lengths if self.index is None else self.lengths[self.index]

    def __len__(self):
        if self.index is not None:
            return len(self.index)
        return len(self.values) if self.offsets is None else len(self.lengths)

    def __getitem__(self, i):
        return self.batch(np.array([i]))

    def with_targets(self, y, weight):
        """Return the same sequences with class codes and weights attached."""
        return Sequences(self.values, self.offsets, y, weight, self.index)

    def subset(self, indices):
        """Return a view of the sequences at ``indices`` (no data is copied)."""
        index = indices if self.index is None else self.index[indices]
        return Sequences(self.values, self.offsets, self.y, self.weight, index)

    def read(self, positions):
        """Return the sequences at sorted ``positions`` as in-memory ``Sequences``."""
        rows = positions if self.index is None else self.index[positions]
        if self.offsets is not None:
            raise TypeError("read() is for equal-length sequences on disk.")
        return Sequences(
            self.values[rows],
            y=None if self.y is None else self.y[rows],
            weight=None if self.weight is None else self.weight[rows],
        )

    def sorted_by_length(self):
        """Return these sequences ordered by length, and the order used.

        Batches of similar lengths carry little padding; for predictions,
        where batches do not interact, this changes nothing but the time.
        Equal-length sequences come back as they are, with order None.
        """
        if self.offsets is None:
            return self, None
        lengths = self._own_lengths()
        order = np.argsort(lengths, kind="stable")
        return self.subset(order), order

    def batch(self, indices):
        """Return ``(X, targets)`` for the network: padded inputs and targets.

        ``indices`` is an integer array or a slice. ``X`` is a dict of the
        module's arguments: ``X["x"]``, and ``X["lengths"]``, None when all
        sequences of the batch are equally long (nothing to mask).
        ``targets`` is a ``Targets``, or None for sequences without targets.
        """
        if self.index is not None:
            indices = self.index[indices]
        if self.offsets is not None:
            x, lengths = self._padded(indices)
        else:
            x, lengths = self.values[indices], None
            # torch wants a writable array; a slice of read-only data (or
            # windows), or of channels-first data, is copied in steps order.
            if not (x.flags.writeable and x.flags.c_contiguous):
                x = np.array(x, order="C")
        X = {"x": torch.from_numpy(x), "lengths": lengths}
        if self.y is None:
            return X, None
        weight = None if self.weight is None else torch.from_numpy(self.weight[indices])
        return X, Targets(torch.from_numpy(self.y[indices]), weight)

    def _padded(self, indices):
        """Gather ragged sequences into one zero-padded array, ``padded_width`` steps wide."""
        if isinstance(indices, slice):
            indices = np.arange(len(self.lengths))[indices]
        lengths = self.lengths[indices]
        steps = np.arange(padded_width(int(lengths.max())))
        inside = steps < lengths[:, None]
        x = np.zeros((len(indices), len(steps), self.n_features), self.values.dtype)
        x[inside] = self.values[(self.offsets[indices][:, None] + steps)[inside]]
        if lengths.min() == len(steps):
            return x, None
        return x, torch.from_numpy(lengths)


def padded_width(n_steps):
    """The width a ragged batch whose longest sequence has ``n_steps`` steps pads to.

    ``n_steps`` rounded up to one of 8 widths per octave (to a multiple of
    ``2**(k - 3)`` between ``2**k`` and ``2**(k + 1)``; exact below 16), at
    most 12.5% more steps. The CPU's convolutions and LSTMs (oneDNN) cache
    a primitive, with memory of its own (about 1 MiB per width for the default
    convolutional block), for every shape they meet; batches padded to
    their longest sequence bring a new width almost every batch, and grew a
    3-epoch fit on 2000 sequences of 20-400 steps by about 380 MiB. The
    padding is masked, so the outputs are the same at any width.
    """
    step = 1 << max(0, n_steps.bit_length() - 4)
    return -(-n_steps // step) * step


def standardized(per_sequence, mean, std):
    """Whether the features are standardized, per sequence or overall, from ``feature_moments``.

    Per sequence (``per_sequence``): each feature of each sequence has a
    mean within 0.01 of 0 and a (population) standard deviation between
    0.85 and 1.05, or is all zeros (the UCR archive's z-normalization, by
    the population or the sample standard deviation of at least 4 steps).
    Overall: each feature's ``mean`` over all real steps of all sequences
    (as the sample weights weigh them) is within 0.05 of 0 and its ``std``
    between 0.9 and 1.1, as ``SequenceScaler`` or ``StandardScaler`` leave
    training data.
    """
    overall = bool(((np.abs(mean) <= 0.05) & (std >= 0.9) & (std <= 1.1)).all())
    return per_sequence or overall


def feature_moments(data, block_values=2**18):
    """``(per_sequence, mean, std)``: the features' statistics over all real steps.

    ``mean`` and ``std`` (float64 arrays of ``n_features``) are each
    feature's mean and population standard deviation over every real step
    of every sequence, each sequence counting as its sample weight says;
    ``per_sequence`` is whether every sequence is standardized on its own
    (see ``standardized``). Reads about ``block_values`` values at
    a time, so data on disk is never loaded whole.
    """
    per_sequence = True
    total = total_sq = count = 0.0
    block = max(1, block_values // max(1, data.longest * data.n_features))
    for start in range(0, len(data), block):
        X, targets = data.batch(slice(start, start + block))
        x, lengths = X["x"].double(), X["lengths"]  # padding is zeros: it adds nothing
        if lengths is None:
            lengths = torch.full((x.shape[0],), x.shape[1])
        steps = lengths.double()[:, None]
        sums, sums_sq = x.sum(dim=1), x.square().sum(dim=1)
        weight = (
            torch.ones_like(steps) if targets is None or targets.weight is None
            else targets.weight.double()[:, None]
        )
        total = total + (weight * sums).sum(0)
        total_sq = total_sq + (weight * sums_sq).sum(0)
        count = count + (weight * steps).sum()
        if per_sequence:
            mean = sums / steps
            std = (sums_sq / steps - mean.square()).clamp_min(0).sqrt()
            zeros = (mean == 0) & (std == 0)
            per_sequence = bool(((mean.abs() <= 0.01) & (std >= 0.85) & (std <= 1.05) | zeros).all())
    mean = total / count
    std = (total_sq / count - mean.square()).clamp_min(0).sqrt()
    return per_sequence, mean.numpy(), std.numpy()


class BatchIterator:
    """Iterate over a ``Sequences`` in batches, optionally shuffled.

    Shuffling draws from ``generator`` (the fit seeds one), else from
    torch's global generator. Without shuffling, batches are slices: views
    of equal-length data. With a data-parallel ``group``, each batch is this
    rank's share of it, and ``X`` also holds ``"share"``, the part of the
    batch's loss weight in this share, and ``"size"``, the whole batch's
    number of sequences (``_distributed.shard``).
    """

    def __init__(self, dataset, batch_size, shuffle=False, generator=None, group=None):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.group = group

    def __len__(self):
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self):
        if self.group is None:
            for dataset, indices in self._batches():
                yield dataset.batch(indices)
            return
        from ._distributed import shard

        for dataset, indices in self._batches():
            if isinstance(indices, slice):
                indices = np.arange(len(dataset))[indices]
            weight = dataset.weight
            if weight is not None:
                weight = weight[indices if dataset.index is None else dataset.index[indices]]
            part, share, empty = shard(indices, weight, self.group)
            X, targets = dataset.batch(part)
            X["share"], X["size"] = share, len(indices)
            if empty and targets is not None:
                targets = Targets(targets.y, torch.zeros(len(part), dtype=X["x"].dtype))
            yield X, targets

    def _batches(self):
        """``(dataset, indices)`` of each batch: the dataset may be a window read from disk."""
        n, size = len(self.dataset), self.batch_size
        if self.shuffle and isinstance(self.dataset.values, DiskArray):
            for window in shuffled_windows(self.dataset, size, self.generator):
                rows = np.sort(window)
                loaded = self.dataset.read(rows)
                local = np.searchsorted(rows, window)
                for start in range(0, len(window), size):
                    yield loaded, local[start : start + size]
        elif self.shuffle:
            order = torch.randperm(n, generator=self.generator).numpy()
            if self.dataset.offsets is not None and n > _POOL_BATCHES * size:
                order = _similar_lengths(order, self.dataset._own_lengths(), size, self.generator)
            for start in range(0, n, size):
                yield self.dataset, order[start : start + size]
        else:
            for start in range(0, n, size):
                yield self.dataset, slice(start, start + size)


def _similar_lengths(order, lengths, size, generator):
    """Shuffled ``order`` regrouped so that each batch holds sequences of similar lengths.

    A ragged batch pads to its longest sequence, and the LSTM runs through
    the padding: each run of ``_POOL_BATCHES`` batches of ``order`` is
    sorted by its sequences' lengths, each jittered by up to 25% so that
    the batches still mix from one epoch to the next, then the batches are
    shuffled. Draws from ``generator``, as the order does.
    """
    jitter = 0.75 + 0.5 * torch.rand(len(order), generator=generator, dtype=torch.float64).numpy()
    key = lengths[order] * jitter
    pool = _POOL_BATCHES * size
    order = np.concatenate([
        order[start : start + pool][np.argsort(key[start : start + pool], kind="stable")]
        for start in range(0, len(order), pool)
    ])
    batches = torch.randperm(-(-len(order) // size), generator=generator).numpy()
    return np.concatenate([order[b * size : (b + 1) * size] for b in batches])


# Sorting runs of 8 batches pads PLAID's batches (100 to 1344 steps) to
# about 0.6 of the steps that random batches pad to. Smaller training sets
# keep random batches: sorted, theirs would hold about the same sequences
# every epoch (PickupGestureWiimoteZ, 2 batches: 0.747 against 0.793).
_POOL_BATCHES = 8

DATA_FORMATS = ("channels_last", "channels_first")


def check_sequences(estimator, X, *, reset, layout=None, dtype=np.float32, on_disk=False):
    """Validate ``X`` and return ``(layout, Sequences)``.

    Layouts:

    - ``"table"``: a 2D array or DataFrame ``(n_samples, n_timesteps)`` of
      univariate sequences; its width is ``n_features_in_`` as for any
      scikit-learn estimator.
    - ``"sequences"``: a 3D array ``(n_samples, n_timesteps, n_features)``, or
      a list of 2D ``(n_timesteps_i, n_features)`` or 1D ``(n_timesteps_i,)``
      arrays of any lengths; with the estimator's
      ``data_format="channels_first"``, ``(n_samples, n_features,
      n_timesteps)`` and ``(n_features, n_timesteps_i)``. sktime's nested
      DataFrame and pd-multiindex DataFrame are sequences too, whatever
      ``data_format`` says: their type gives their layout.

    ``layout`` is the layout seen in ``fit`` (None when resetting). A list of
    equally long 1D arrays is a table unless the estimator was fitted on
    sequences. Values are cast to ``dtype`` (no copy if they have it). The
    returned ``Sequences`` are channels-last: transposed views of
    channels-first arrays. With ``on_disk``, a 2D or 3D ``np.memmap``,
    ``h5py.Dataset`` or ``zarr.Array`` stays where it is (a ``DiskArray``):
    its values are cast and checked as batches are read.
    """
    if sp.issparse(X):
        raise TypeError(
            "Sparse input is not supported: sequences must be dense. "
            "Convert X with X.toarray()."
        )
    channels_first = getattr(estimator, "data_format", "channels_last") == "channels_first"
    if on_disk and is_on_disk(X):
        found, values = check_disk_array(X, dtype, channels_first)
        _check_layout(estimator, found, layout, channels_first)
        if found == "table":  # its width, as validate_data sets it
            _check_n_features(estimator, values.shape[1], reset, per="")
        else:
            _check_n_features(estimator, values.shape[2], reset)
        return found, Sequences(values)
    if on_disk and isinstance(X, (list, tuple)) and X and is_on_disk(X[0]):
        raise ValueError(
            f"X is a list of {len(X)} arrays on disk ({type(X[0]).__name__}). Ragged "
            "sequences on disk are not read a batch at a time: pad them into one 3D "
            "on-disk array (n_samples, n_timesteps, n_features), or load them into "
            "memory with [np.asarray(x) for x in X]."
        )
    from_frame = frame_sequences(X)
    if from_frame is not None:
        X, channels = from_frame
        _check_layout(estimator, "sequences", layout, channels_first)
        found, seqs = "sequences", _check_sequence_list(X, dtype, channels_first=False)
    elif is_list_of_sequences(X, layout):
        _check_layout(estimator, "sequences", layout, channels_first)
        found, seqs = "sequences", _check_sequence_list(X, dtype, channels_first)
    else:
        array = X if _is_plain_numeric(X) else check_array(
            X, dtype="numeric", allow_nd=True, ensure_all_finite=False,
            ensure_2d=False, estimator=estimator,
        )
        if array.ndim not in (2, 3):
            steps = "n_features, n_timesteps" if channels_first else "n_timesteps, n_features"
            raise ValueError(
                f"Expected a 2D (n_samples, n_timesteps) or 3D (n_samples, "
                f"{steps}) array, or a list of sequences; got an "
                f"array with {array.ndim} dimension(s) and shape {array.shape}. "
                "Reshape your data, e.g. X.reshape(1, -1) for a single univariate "
                "sequence."
            )
        found = "table" if array.ndim == 2 else "sequences"
        _check_layout(estimator, found, layout, channels_first)
        if found == "table":
            # X is validated above; this only checks its width and column names.
            validate_data(estimator, X, reset=reset, skip_check_array=True)
            seqs = Sequences(_cast(array, dtype)[:, :, None])
        else:
            seqs = _check_3d(array.transpose(0, 2, 1) if channels_first else array, dtype)
    if found == "sequences":
        _check_n_features(estimator, seqs.n_features, reset)
        if from_frame is not None:
            _check_channel_names(estimator, channels, reset)
        elif reset and not channels_first and seqs.longest == 1 and seqs.n_features > 1:
            warnings.warn(
                f"Every sequence of X has a single time step of {seqs.n_features} "
                f"features. If X holds univariate series in the channels-first "
                f"layout of aeon and sktime, (n_cases, 1, n_timepoints), pass "
                f"data_format='channels_first' to {type(estimator).__name__}; "
                "as it is, the network reads one step per sequence.",
                UserWarning,
                stacklevel=3,
            )
    return found, seqs


def to_input_layout(X, layout, seqs, values, channels_first):
    """Per-step ``values`` of the checked ``seqs`` of ``X``, laid out as ``X`` was.

    ``values`` has the shape of ``seqs.values`` (channels last). A table
    comes back 2D; a 3D array (or a DataFrame container of equal lengths)
    3D; a list, or a DataFrame container of ragged sequences, as a list of
    arrays, each sequence of a list in its own shape (1D stays 1D).
    ``channels_first`` lays the features before the steps.
    """
    if layout == "table":
        return values[:, :, 0]
    listed = is_list_of_sequences(X, layout)
    if seqs.offsets is None and not listed:
        return values.transpose(0, 2, 1) if channels_first else values
    values = np.split(values, seqs.offsets[1:-1]) if seqs.offsets is not None else list(values)
    if not listed:
        return [v.T if channels_first else v for v in values]
    return [
        v[:, 0] if np.ndim(x) == 1 else v.T if channels_first else v
        for v, x in zip(values, X)
    ]


def check_output_container(estimator, result):
    """Return ``result``, or refuse a table container (``set_output``) for sequences.

    ``set_output(transform="pandas")`` or ``"polars"`` (or the global
    ``transform_output``) can only hold a 2D result; sequences are not one.
    """
    dense = _get_output_config("transform", estimator)["dense"]
    if dense == "default" or (isinstance(result, np.ndarray) and result.ndim == 2):
        return result
    found = (
        f"a 3D array of shape {result.shape}" if isinstance(result, np.ndarray)
        else f"a list of {len(result)} sequences of their own lengths"
    )
    raise ValueError(
        f"{type(estimator).__name__}.transform returns {found}, which cannot be a "
        f"{dense} DataFrame: a DataFrame is a 2D table of one row per sample, and "
        "these are sequences of time steps. Keep this step's output an array with "
        f"{type(estimator).__name__}(...).set_output(transform='default'), which "
        "overrides the global transform_output and a Pipeline's set_output when "
        "set after it."
    )


def frame_sequences(X):
    """sktime's DataFrame containers as ``(list of (n_timesteps_i, n_channels) arrays, names)``.

    Returns None for anything else (a plain DataFrame is a table). The two
    containers are sktime's "nested_univ" (one row per sequence, one column
    per channel, each cell a Series of that channel's steps) and
    "pd-multiindex" (one row per step, indexed by (sequence, time), one
    column per channel). Sequences come out in the order of their first
    row, steps ordered by time.
    """
    if not (hasattr(X, "columns") and hasattr(X, "index") and hasattr(X, "iloc")):
        return None
    names = np.asarray(X.columns, dtype=object)
    if getattr(X.index, "nlevels", 1) > 1:
        return _from_multiindex(X), names
    if len(X) and len(X.columns) and all(
        np.ndim(cell) == 1 and not isinstance(cell, (str, bytes)) for cell in X.iloc[0]
    ):
        return _from_nested(X), names
    return None


def _from_multiindex(frame):
    import pandas as pd

    if frame.index.nlevels != 2:
        raise ValueError(
            f"X is a DataFrame with {frame.index.nlevels} index levels; sklstm reads "
            "sktime's pd-multiindex layout, whose index has two: (sequence, time). "
            "For a hierarchy of panels, drop or merge the outer levels first, e.g. "
            "X.droplevel(0) or X.reset_index(level=0, drop=True)."
        )
    if len(frame) == 0 or len(frame.columns) == 0:
        raise ValueError(f"X is an empty DataFrame (shape {frame.shape}).")
    not_numeric = [c for c, kind in zip(frame.columns, frame.dtypes) if kind.kind not in "biuf"]
    if not_numeric:
        raise ValueError(
            f"Columns {not_numeric[:5]} of X are not numeric; each column of a "
            "(sequence, time)-indexed DataFrame is one channel of numbers."
        )
    sequence, time = (frame.index.get_level_values(i) for i in range(2))
    if sequence.isna().any() or time.isna().any():
        raise ValueError("X's (sequence, time) index has missing values.")
    codes, _ = pd.factorize(sequence, sort=False)  # order of first appearance
    ticks, _ = pd.factorize(time, sort=True)
    order = np.lexsort((ticks, codes))
    codes, ticks = codes[order], ticks[order]
    repeated = (codes[1:] == codes[:-1]) & (ticks[1:] == ticks[:-1])
    if repeated.any():
        i = order[1:][repeated][0]
        raise ValueError(
            f"{int(repeated.sum())} row(s) of X repeat a (sequence, time) pair, e.g. "
            f"{frame.index[i]!r}: their order within the sequence is ambiguous."
        )
    values = frame.to_numpy(dtype=np.float64)[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    return np.split(values, starts[1:])


def _from_nested(frame):
    sequences = []
    for i in range(len(frame)):
        cells = [np.asarray(cell) for cell in frame.iloc[i]]
        lengths = {len(cell) for cell in cells}
        if len(lengths) > 1:
            raise ValueError(
                f"Row {i} of X (a nested DataFrame, one Series per channel) has "
                f"channels of different lengths {sorted(lengths)}; the channels of a "
                "sequence must have one value per time step each."
            )
        for j, cell in enumerate(cells):
            if cell.ndim != 1 or cell.dtype.kind not in _NUMERIC_KINDS:
                raise ValueError(
                    f"Cell ({i}, {frame.columns[j]!r}) of X is not a 1D series of "
                    "numbers; in a nested DataFrame every cell holds one channel "
                    "of one sequence."
                )
        sequences.append(np.stack(cells, axis=1))
    return sequences


def _check_channel_names(estimator, names, reset):
    """Keep (``reset``) or compare the channel names of a DataFrame container."""
    strings = all(isinstance(name, str) for name in names)
    if reset:
        if strings:
            estimator.feature_names_in_ = names
        return
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None and strings and list(fitted) != list(names):
        raise ValueError(
            f"X's channels are {list(names)[:10]}, but {type(estimator).__name__} "
            f"was fitted on channels {list(fitted)[:10]}: name the same channels "
            "in the same order."
        )


def _is_plain_numeric(X):
    """Whether ``check_array`` would return ``X`` itself, unchecked and uncast.

    A non-empty 2D or 3D ndarray of numbers needs none of its conversions;
    skipping it saves most of the fixed cost of predicting one sequence.
    """
    return (
        type(X) is np.ndarray and X.ndim in (2, 3) and X.size > 0
        and X.dtype.kind in _NUMERIC_KINDS
    )


def _check_layout(estimator, found, layout, channels_first):
    if layout is None or found == layout:
        return
    name = type(estimator).__name__
    univariate = "X[:, None, :]" if channels_first else "X[:, :, None]"
    if layout == "table":
        raise ValueError(
            f"{name} was fitted on a 2D array of univariate sequences "
            f"(n_samples, n_timesteps), so predict needs the same layout with "
            f"{estimator.n_features_in_} columns; got 3D or ragged sequences."
        )
    raise ValueError(
        f"{name} was fitted on 3D or ragged sequences with "
        f"{estimator.n_features_in_} feature(s) per step, so it needs the same "
        f"layout; got a 2D array. For univariate sequences pass {univariate}."
    )


def _check_n_features(estimator, n_features, reset, per=" per time step"):
    """Set (``reset``) or check ``n_features_in_``; a table's columns are ``per=""``."""
    if reset:
        estimator.n_features_in_ = n_features
        if hasattr(estimator, "feature_names_in_"):
            del estimator.feature_names_in_
    elif n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features{per}, but "
            f"{type(estimator).__name__} is expecting {estimator.n_features_in_} "
            "features as input."
        )


def is_list_of_sequences(X, layout):
    """Whether ``X`` is a list (or 1D object array) of sequences."""
    is_object_array = isinstance(X, np.ndarray) and X.dtype == object and X.ndim == 1
    if not (is_object_array or isinstance(X, (list, tuple))) or len(X) == 0:
        return False
    if isinstance(X[0], (str, bytes)) or np.ndim(X[0]) == 0:
        return False  # a flat list of scalars: check_array explains the error
    return layout == "sequences" or is_object_array or not _is_table_rows(X)


def _is_table_rows(X):
    """Whether ``X`` is a list of equally long flat rows: sklearn's 2D table."""
    n_columns = None
    for row in X:
        try:
            if np.ndim(row) != 1:
                return False
        except ValueError:  # a ragged nested list
            return False
        if n_columns is not None and len(row) != n_columns:
            return False
        n_columns = len(row)
    return True


def _check_sequence_list(X, dtype, channels_first):
    arrays = []
    for i, seq in enumerate(X):
        a = _check_one_sequence(seq, i, channels_first)
        if arrays and a.shape[1] != arrays[0].shape[1]:
            raise ValueError(
                f"Sequence {i} has {a.shape[1]} features per time step but sequence "
                f"0 has {arrays[0].shape[1]}; all sequences need the same number "
                "of features."
            )
        arrays.append(a)
    lengths = np.array([len(a) for a in arrays], dtype=np.int64)
    values = np.concatenate(arrays, axis=0, dtype=dtype, casting="unsafe")
    _check_finite(values, lengths)
    if np.all(lengths == lengths[0]):
        return Sequences(values.reshape(len(arrays), lengths[0], -1))
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    return Sequences(values, offsets)


def _check_one_sequence(seq, i, channels_first):
    if sp.issparse(seq):
        raise TypeError(f"Sequence {i} is sparse; convert it with .toarray().")
    try:
        a = np.asarray(seq)
    except ValueError as exc:
        raise ValueError(
            f"Sequence {i} is not a rectangular array of numbers: {exc}"
        ) from None
    if a.dtype.kind == "c":
        raise ValueError(f"Complex data not supported (sequence {i}).")
    if a.dtype.kind == "O":
        a = a.astype(np.float64)  # raises TypeError naming a non-number
    elif a.dtype.kind not in _NUMERIC_KINDS:
        raise ValueError(
            f"Sequence {i} has dtype {a.dtype}; sequences must hold numbers. "
            "Convert your data to numeric values explicitly."
        )
    if a.ndim == 1:
        a = a[:, None]
    elif a.ndim == 2 and channels_first:
        a = a.T
    if a.ndim != 2:
        shape = "(n_features, n_timesteps)" if channels_first else "(n_timesteps, n_features)"
        raise ValueError(
            f"Sequence {i} has {a.ndim} dimensions; each sequence must be 1D "
            f"(n_timesteps,) or 2D {shape}."
        )
    if a.shape[0] == 0:
        raise ValueError(
            f"Sequence {i} has length 0; every sequence needs at least one time "
            "step. Remove empty sequences before fitting or predicting."
        )
    if a.shape[1] == 0:
        raise ValueError(f"Sequence {i} has 0 features; at least one is required.")
    return a


def _check_3d(X, dtype):
    n_samples, n_steps, n_features = X.shape
    if n_samples == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 "
            "is required."
        )
    if n_steps == 0:
        raise ValueError(
            f"X has sequences of length 0 (shape={X.shape}); every sequence needs "
            "at least one time step."
        )
    if n_features == 0:
        raise ValueError(f"X has 0 features (shape={X.shape}); at least one is required.")
    # Windows of a long series stay a view: cast and check the rows under them.
    return Sequences(map_steps(X, lambda rows: _cast(rows, dtype)))


def _cast(X, dtype):
    """Cast to ``dtype`` (no copy if ``X`` has it) and check it is finite."""
    with np.errstate(over="ignore"):  # an overflow gives inf: reported below
        values = X.astype(dtype, copy=False)
    _check_finite(values)
    return values


def _check_finite(values, lengths=None):
    # A finite sum proves every value finite without a mask of X's size
    # (as scikit-learn does); otherwise scikit-learn names the problem.
    with np.errstate(over="ignore", invalid="ignore"):
        if values.dtype.kind != "f" or np.isfinite(np.add.reduce(values, axis=None)):
            return
    try:
        assert_all_finite(values, input_name="X")
    except ValueError as exc:
        where = ""
        if lengths is not None:
            bad_row = np.flatnonzero(~np.isfinite(values).all(axis=1))[0]
            where = f" (first in sequence {np.searchsorted(np.cumsum(lengths), bad_row, 'right')})"
        raise ValueError(
            f"{str(exc).rstrip('.')}{where}. Values must be finite, also once "
            f"cast to {values.dtype}; remove or impute NaN and infinite values."
        ) from None

