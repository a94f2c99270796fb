"""Which time steps and features drive a fitted model's predictions.

Two complementary tools:

- ``integrated_gradients``: per-sequence attributions over time steps x
  features (Sundararajan, Taly and Yan 2017, "Axiomatic Attribution for
  Deep Networks", ICML). Each attribution is the feature's difference from
  a baseline times the gradient averaged along the straight path from the
  baseline to the sequence, so the attributions of a sequence add up to the
  difference of the model's output there and at the baseline.
- ``permutation_importance``: how much a score drops when one feature, or
  one segment of time, is shuffled between sequences (Breiman 2001;
  scikit-learn's ``permutation_importance`` for sequences, which it does not
  take). Model-agnostic: any fitted estimator or Pipeline and any scorer.
"""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, is_classifier
from sklearn.metrics import check_scoring
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted

from ._base import BaseLSTMSequence
from ._data import DATA_FORMATS, check_sequences, to_input_layout
from ._module import standardize_sequences

__all__ = ["integrated_gradients", "permutation_importance"]

# Interpolated inputs per backward pass: about this many values (steps x
# features x sequences x path points), to bound memory on long sequences.
_CHUNK_VALUES = 2**22


@validate_params(
    {
        "estimator": [BaseLSTMSequence],
        "X": ["array-like", list],
        "target": "no_validation",
        "baseline": [Real, "array-like", list],
        "n_steps": [Interval(Integral, 1, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def integrated_gradients(estimator, X, *, target=None, baseline=0.0, n_steps=32):
    """Attribute each prediction to the time steps and features of its sequence.

    Integrated gradients: for each sequence ``x``, baseline ``b`` and output
    ``F``, the attribution of step ``t``, feature ``j`` is
    ``(x[t, j] - b[j])`` times the integral of ``dF/dx[t, j]`` along the
    straight path from ``b`` to ``x``, computed with ``n_steps``-point
    Gauss-Legendre quadrature. The attributions of a sequence add up to
    ``F(x) - F(b)`` (up to the quadrature's error), so each one says how
    much of the prediction's departure from the baseline's that step and
    feature account for. Padding plays no part: ragged sequences get
    attributions for their own steps only.

    Parameters
    ----------
    estimator : LSTMSequenceClassifier or LSTMSequenceRegressor
        A fitted estimator. For a Pipeline, pass its last step and the
        transformed sequences.
    X : array-like or list of array-like
        Sequences in any layout the estimator takes.
    target : label, array-like of labels, int or None, default=None
        The output explained. Classifier: the probability of this class (a
        label of ``classes_``), one label per sequence, or None for each
        sequence's predicted class. Regressor: the prediction, of output
        column ``target`` when there are several (None: the only one).
    baseline : float, array-like of shape (n_features,) or sequences like X, \
            default=0.0
        The reference input. A number or one value per feature is the same
        at every step: 0 is the mean of standardized data; pass, e.g.,
        ``SequenceScaler().fit(X).mean_`` for unscaled features. Sequences
        in the layout of ``X``, one per sequence and as long, give each its
        own; a model with ``normalize="per_sequence"`` needs those (a
        sequence constant over time has no scale to standardize by).
    n_steps : int, default=32
        Quadrature points along the path; more cost more and add up more
        exactly.

    Returns
    -------
    attributions : ndarray or list of ndarray
        In the layout of ``X`` (and the estimator's ``data_format``): a 3D
        array for 3D input, a list for lists (1D sequences stay 1D), a 2D
        array for a table of univariate sequences.

    See Also
    --------
    permutation_importance : Importance of each feature or time segment to a
        score, over a data set.
    sklstm.plotting.plot_attributions : A heatmap of one sequence's attributions.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import LSTMSequenceClassifier
    >>> from sklstm.inspection import integrated_gradients
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 12, 3))
    >>> y = (X[:, :, 1].mean(axis=1) > 0).astype(int)  # only feature 1 matters
    >>> clf = LSTMSequenceClassifier(16, conv_channels=None, max_epochs=30, random_state=0)
    >>> attributions = integrated_gradients(clf.fit(X, y), X[:10])
    >>> attributions.shape
    (10, 12, 3)
    >>> mass = np.abs(attributions).sum(axis=(0, 1))
    >>> int(mass.argmax()), bool(mass[1] > 0.5 * mass.sum())
    (1, True)
    """
    check_is_fitted(estimator)
    _, seqs = check_sequences(
        estimator, X, reset=False, layout=estimator._layout, dtype=estimator._dtype
    )
    module = estimator.net_.module_
    device = next(module.parameters()).device
    dtype = next(module.parameters()).dtype
    base, base_seqs = _check_baseline(estimator, baseline, seqs, module, dtype, device)
    columns = _target_columns(estimator, X, target, len(seqs))
    nodes, weights = np.polynomial.legendre.leggauss(n_steps)
    alphas = torch.as_tensor((nodes + 1) / 2, dtype=dtype, device=device)
    weights = torch.as_tensor(weights / 2, dtype=dtype, device=device)

    out = np.zeros(seqs.values.shape, dtype=seqs.values.dtype)
    ordered, order = seqs.sorted_by_length()
    positions = np.arange(len(seqs)) if order is None else order
    if base_seqs is not None and order is not None:
        base_seqs = base_seqs.subset(order)
    batch = max(1, min(256, _CHUNK_VALUES // max(1, n_steps * ordered.longest * seqs.n_features)))
    was_training = module.training
    module.eval()
    try:
        for start in range(0, len(ordered), batch):
            index = positions[start : start + batch]
            inputs, _ = ordered.batch(slice(start, start + batch))
            x = inputs["x"].to(device, dtype)
            lengths = inputs["lengths"]
            if base_seqs is not None:
                base = base_seqs.batch(slice(start, start + batch))[0]["x"].to(device, dtype)
            attributions = _path_attributions(
                estimator, module, x, lengths, base, columns[index], alphas, weights
            ).detach().cpu().numpy()
            _scatter(out, seqs, index, attributions)
    finally:
        module.train(was_training)
    channels_first = estimator.data_format == "channels_first"
    return to_input_layout(X, estimator._layout, seqs, out, channels_first)


def _check_baseline(estimator, baseline, seqs, module, dtype, device):
    """``(constant baseline tensor, None)``, or ``(None, Sequences)`` for one per sequence."""
    try:
        constant = np.ndim(baseline) <= (0 if estimator._layout == "table" else 1)
    except ValueError:  # a ragged list
        constant = False
    if constant:
        base = np.asarray(baseline, dtype=np.float64)
        if base.ndim == 1 and len(base) != seqs.n_features:
            raise ValueError(
                f"baseline must be a number, one value per feature ({seqs.n_features}) or "
                f"sequences like X; got shape {base.shape}."
            )
        if module.normalize == "per_sequence":
            raise ValueError(
                "This estimator standardizes each sequence by its own mean and standard "
                "deviation (normalize='per_sequence'), so a baseline that is constant over "
                "time has no scale and the path from it passes through a singularity. "
                "Pass one baseline sequence per sequence of X, in X's layout (e.g. X with "
                "its steps shuffled, or noise), which the network can standardize."
            )
        return torch.as_tensor(base, dtype=dtype, device=device), None
    _, base_seqs = check_sequences(
        estimator, baseline, reset=False, layout=estimator._layout, dtype=estimator._dtype
    )
    same = len(base_seqs) == len(seqs) and (
        base_seqs.values.shape == seqs.values.shape
        if seqs.offsets is None
        else base_seqs.offsets is not None and np.array_equal(base_seqs.offsets, seqs.offsets)
    )
    if not same:
        raise ValueError(
            "A baseline of sequences needs one sequence per sequence of X, each as long "
            "as it and with its features."
        )
    return None, base_seqs


def _target_columns(estimator, X, target, n):
    """The output column explained for each of the ``n`` sequences."""
    if is_classifier(estimator):
        classes = estimator.classes_
        if target is None:
            return np.argmax(estimator.predict_proba(X), axis=1)
        labels = np.broadcast_to(np.asarray(target, dtype=classes.dtype), (n,))
        columns = np.searchsorted(classes, labels)
        columns = np.minimum(columns, len(classes) - 1)
        unknown = classes[columns] != labels
        if unknown.any():
            raise ValueError(
                f"target {labels[unknown][0].item()!r} is not a class of the classifier; "
                f"its classes are {classes.tolist()}."
            )
        return columns
    n_outputs = estimator.n_outputs_
    column = 0 if target is None else target
    if n_outputs > 1 and target is None:
        raise ValueError(
            f"The regressor has {n_outputs} outputs: pass target=k to explain output k."
        )
    if not (isinstance(column, (int, np.integer)) and 0 <= column < n_outputs):
        raise ValueError(
            f"target must be an output column of the regressor, 0 to {n_outputs - 1}; "
            f"got {column!r}."
        )
    return np.full(n, int(column))


def _path_attributions(estimator, module, x, lengths, base, columns, alphas, weights):
    """Integrated gradients of the explained outputs along the paths from ``base`` to ``x``.

    A network with ``normalize="both"`` also reads each sequence
    standardized, which is the same for every point of a straight path
    but its start (a constant baseline has no scale): its path runs in
    the network's inputs instead, the raw half from ``base`` to ``x`` and
    the standardized half from ``base`` standardized (zeros when it is
    constant) to ``x`` standardized, and the attributions of both halves
    add up per step and feature. Either way they sum to the change of the
    output from ``base`` to ``x``.
    """
    classifier = is_classifier(estimator)
    columns = torch.as_tensor(columns, device=x.device)
    ends = [(base.expand_as(x), x)]
    if module.normalize == "both":
        ends.append(tuple(standardize_sequences(v, lengths) for v in ends[0]))
    total = [torch.zeros_like(x) for _ in ends]
    per_chunk = max(1, _CHUNK_VALUES // max(1, x.numel() * len(ends)))
    # cuDNN computes an LSTM's gradients only in training mode; the modules'
    # own kernels do in eval mode (batch norm keeps its running statistics).
    cudnn = torch.backends.cudnn.flags(enabled=x.device.type != "cuda")
    with torch.enable_grad(), cudnn:
        for start in range(0, len(alphas), per_chunk):
            a = alphas[start : start + per_chunk]
            k = len(a)
            paths = [
                (begin + a[:, None, None, None] * (end - begin)).reshape(-1, *x.shape[1:])
                .requires_grad_(True)
                for begin, end in ends
            ]
            repeated = None if lengths is None else lengths.repeat(k)
            logits = module(paths[0], repeated, standardized=paths[1] if len(paths) > 1 else None)
            if classifier:
                outputs = torch.softmax(logits.to(x.dtype), dim=1)
            else:
                scale = torch.as_tensor(estimator._y_scale, dtype=x.dtype, device=x.device)
                outputs = logits.to(x.dtype) * scale
            chosen = outputs.gather(1, columns.repeat(k)[:, None])
            grads = torch.autograd.grad(chosen.sum(), paths)
            for t, grad in zip(total, grads):
                t += (grad.reshape(k, *x.shape) * weights[start : start + k, None, None, None]).sum(0)
    return sum((end - begin) * t for (begin, end), t in zip(ends, total))


def _scatter(out, seqs, index, attributions):
    """Write a padded batch's attributions of sequences ``index`` into ``out``."""
    if seqs.offsets is None:
        out[index] = attributions
        return
    for row, i in enumerate(index):
        begin, end = seqs.offsets[i], seqs.offsets[i + 1]
        out[begin:end] = attributions[row, : end - begin]


class _SequenceReader(BaseEstimator):
    """Reads X as sklstm's estimators do, for tools that take any estimator."""

    def __init__(self, data_format="channels_last"):
        self.data_format = data_format


@validate_params(
    {
        "estimator": [object],
        "X": ["array-like", list],
        "y": ["array-like", None],
        "by": [StrOptions({"feature", "segment"})],
        "n_segments": [Interval(Integral, 1, None, closed="left")],
        "scoring": [str, callable, None],
        "n_repeats": [Interval(Integral, 1, None, closed="left")],
        "data_format": [StrOptions(set(DATA_FORMATS)), None],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def permutation_importance(
    estimator, X, y, *, by="feature", n_segments=10, scoring=None, n_repeats=5,
    data_format=None, random_state=None,
):
    """Importance of each feature, or each segment of time, to a fitted model's score.

    For each group (a feature, or a tenth of each sequence's time by
    default), the group's values are shuffled between sequences
    ``n_repeats`` times and the data scored again; the importance is the
    score's drop. ``by="feature"`` gives each sequence feature ``j`` of
    another sequence, all its steps; ``by="segment"`` gives it the steps of
    another sequence in the same stretch of relative time (e.g. the first
    10% of each), all features. Ragged sequences receive the other's values
    resampled to their own length by linear interpolation; equally long
    ones receive them as they are.

    Parameters
    ----------
    estimator : object
        A fitted estimator or Pipeline that takes sequences.
    X : array-like or list of array-like
        Sequences: a 3D array, a list of sequences, a table of univariate
        sequences, or one of sktime's DataFrame containers.
    y : array-like of shape (n_samples,) or None
        Targets for the scorer.
    by : {"feature", "segment"}, default="feature"
        What a group is.
    n_segments : int, default=10
        Segments of each sequence's time with ``by="segment"``.
    scoring : str, callable or None, default=None
        A scikit-learn scorer; None uses the estimator's ``score``.
    n_repeats : int, default=5
        Shuffles per group.
    data_format : {"channels_last", "channels_first"} or None, default=None
        The layout of 3D and list ``X``; None takes the estimator's (the
        last step's for a Pipeline), else channels last.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffles.

    Returns
    -------
    result : Bunch
        ``importances`` (n_groups, n_repeats), ``importances_mean`` and
        ``importances_std`` (n_groups,), and ``names``: the feature names
        (from a DataFrame's columns, else ``x0``, ``x1``, ...) or the
        segments as percentages of each sequence's length.

    See Also
    --------
    integrated_gradients : Attributions of single predictions to steps and
        features.
    sklstm.plotting.plot_importances : A bar chart of the result.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import LSTMSequenceClassifier
    >>> from sklstm.inspection import permutation_importance
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 12, 3))
    >>> y = (X[:, :, 2].mean(axis=1) > 0).astype(int)  # only feature 2 matters
    >>> clf = LSTMSequenceClassifier(16, conv_channels=None, max_epochs=30, random_state=0)
    >>> result = permutation_importance(clf.fit(X, y), X, y, random_state=0)
    >>> result.names.tolist()
    ['x0', 'x1', 'x2']
    >>> int(np.argmax(result.importances_mean))
    2
    """
    if data_format is None:
        last = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
        data_format = getattr(last, "data_format", "channels_last")
    reader = _SequenceReader(data_format)
    layout, seqs = check_sequences(reader, X, reset=True, dtype=np.float64)
    sequences = _split(seqs)
    names = _group_names(reader, by, n_segments, seqs.n_features)
    scorer = check_scoring(estimator, scoring=scoring)
    rng = check_random_state(random_state)
    channels_first = data_format == "channels_first"

    def score(values):
        data = to_input_layout(X, layout, seqs, values, channels_first)
        if layout == "table" and hasattr(X, "iloc"):  # a pandas table keeps its names
            data = type(X)(data, columns=X.columns, index=X.index)
        return scorer(estimator, data, y)

    reference = score(seqs.values)
    importances = np.empty((len(names), n_repeats))
    for g in range(len(names)):
        for r in range(n_repeats):
            donors = rng.permutation(len(sequences))
            shuffled = [
                _receive(seq, sequences[d], by, g, n_segments)
                for seq, d in zip(sequences, donors)
            ]
            values = np.concatenate(shuffled).reshape(seqs.values.shape)
            importances[g, r] = reference - score(values)
    return Bunch(
        importances=importances,
        importances_mean=importances.mean(axis=1),
        importances_std=importances.std(axis=1),
        names=names,
    )


def _split(seqs):
    """The sequences of ``seqs`` as a list of (n_timesteps_i, n_features) arrays."""
    if seqs.offsets is None:
        return list(seqs.values)
    return np.split(seqs.values, seqs.offsets[1:-1])


def _group_names(reader, by, n_segments, n_features):
    if by == "feature":
        names = getattr(reader, "feature_names_in_", None)
        if names is None or len(names) != n_features:
            names = [f"x{j}" for j in range(n_features)]
        return np.asarray(names, dtype=object)
    edges = np.linspace(0, 100, n_segments + 1)
    return np.array([f"{a:.0f}-{b:.0f}%" for a, b in zip(edges[:-1], edges[1:])], dtype=object)


def _segment(length, g, n_segments):
    """The steps of segment ``g`` of a sequence of ``length`` steps."""
    edges = np.rint(np.linspace(0, length, n_segments + 1)).astype(int)
    return slice(edges[g], edges[g + 1])


def _receive(seq, donor, by, g, n_segments):
    """``seq`` with group ``g`` taken from ``donor`` (resampled to fit if lengths differ)."""
    out = seq.copy()
    if by == "feature":
        out[:, g] = _resample(donor[:, g], len(seq))
    else:
        mine, theirs = _segment(len(seq), g, n_segments), _segment(len(donor), g, n_segments)
        n = mine.stop - mine.start
        if n and theirs.stop > theirs.start:
            out[mine] = _resample(donor[theirs], n)
    return out


def _resample(values, n):
    """``values`` (along axis 0) at ``n`` evenly spaced points, linearly interpolated."""
    if len(values) == n:
        return values
    source = np.linspace(0, 1, len(values)) if len(values) > 1 else np.zeros(1)
    points = np.linspace(0, 1, n)
    if values.ndim == 1:
        return np.interp(points, source, values)
    return np.stack([np.interp(points, source, v) for v in values.T], axis=1)
