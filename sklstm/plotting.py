"""Plots of fitted models (needs matplotlib: ``pip install matplotlib``)."""

import numpy as np
from sklearn.exceptions import NotFittedError

__all__ = ["plot_attributions", "plot_history", "plot_importances"]

_CURVES = {
    "loss": [("train_loss", "train"), ("valid_loss", "validation")],
    "accuracy": [("valid_acc", "validation")],
}


def plot_history(model, *, axes=None):
    """Plot the learning curves of a fitted model, one value per epoch.

    The first panel shows the training and (when a validation split was
    used) validation loss; a second panel shows the validation accuracy
    when it was recorded. With early stopping, a dotted line marks the epoch
    of the lowest validation loss, whose weights the model keeps.

    Parameters
    ----------
    model : LSTMSequenceClassifier, LSTMSequenceRegressor or skorch History
        A fitted estimator (its ``history_`` is plotted) or a history.
    axes : matplotlib Axes or sequence of Axes, default=None
        Where to draw: one Axes per panel. None creates a new figure.

    Returns
    -------
    axes : ndarray of matplotlib Axes
        The panels drawn: loss, then accuracy if any.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklstm import LSTMSequenceClassifier
    >>> from sklstm.datasets import make_sequence_classification
    >>> from sklstm.plotting import plot_history
    >>> X, y = make_sequence_classification(n_samples=60, random_state=0)
    >>> clf = LSTMSequenceClassifier(8, max_epochs=5, validation_fraction=0.2).fit(X, y)
    >>> [ax.get_ylabel() for ax in plot_history(clf)]
    ['loss', 'accuracy']
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plot_history needs matplotlib: pip install matplotlib"
        ) from None
    history = getattr(model, "history_", None) if not isinstance(model, list) else model
    if history is None:
        raise NotFittedError(
            f"This {type(model).__name__} has no history_ yet: call fit before plot_history."
        )
    if len(history) == 0:
        raise ValueError("The history is empty: no epoch has been trained.")
    epochs = np.array([row.get("epoch", i + 1) for i, row in enumerate(history)])
    panels = {
        name: [(key, label) for key, label in curves if any(key in row for row in history)]
        for name, curves in _CURVES.items()
    }
    panels = {name: curves for name, curves in panels.items() if curves}
    if axes is None:
        _, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5), squeeze=False)
    axes = np.ravel(np.asarray(axes, dtype=object))
    if len(axes) != len(panels):
        raise ValueError(
            f"axes holds {len(axes)} Axes, but this history has {len(panels)} panel(s) "
            f"to draw ({', '.join(panels)})."
        )
    best = _best_epoch(history, epochs)
    for ax, (name, curves) in zip(axes, panels.items()):
        for key, label in curves:
            values = np.array([row.get(key, np.nan) for row in history], dtype=float)
            ax.plot(epochs, values, marker="o", markersize=3, label=label)
        if best is not None:
            ax.axvline(best, color="gray", linestyle=":", label="lowest validation loss")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.legend()
    return axes


def plot_attributions(attributions, *, feature_names=None, ax=None):
    """Draw one sequence's attributions as a heatmap of features over time.

    Red steps and features pushed the explained output up, blue ones down;
    the colour scale is symmetric around 0.

    Parameters
    ----------
    attributions : array-like of shape (n_timesteps, n_features) or (n_timesteps,)
        One sequence's attributions, channels last, e.g. an entry of what
        ``sklstm.inspection.integrated_gradients`` returns (transpose
        channels-first ones).
    feature_names : list of str, default=None
        Row labels; None numbers the features.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a new figure.

    Returns
    -------
    ax : matplotlib Axes
        The heatmap, with its colour bar.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklstm.plotting import plot_attributions
    >>> ax = plot_attributions(np.random.default_rng(0).normal(size=(20, 3)))
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('time step', 'feature')
    """
    plt = _pyplot("plot_attributions")
    values = np.asarray(attributions, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(
            f"plot_attributions draws one sequence, (n_timesteps, n_features); got shape "
            f"{values.shape}. Pass one entry, e.g. attributions[0]."
        )
    if feature_names is not None and len(feature_names) != values.shape[1]:
        raise ValueError(
            f"feature_names has {len(feature_names)} names for {values.shape[1]} features."
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 1 + 0.35 * values.shape[1]))
    limit = np.abs(values).max() or 1.0
    image = ax.imshow(
        values.T, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest"
    )
    ax.set_yticks(range(values.shape[1]))
    if feature_names is not None:
        ax.set_yticklabels(feature_names)
    ax.set_xlabel("time step")
    ax.set_ylabel("feature")
    ax.figure.colorbar(image, ax=ax, label="attribution")
    return ax


def plot_importances(result, *, ax=None):
    """Draw permutation importances as horizontal bars with their spread.

    Parameters
    ----------
    result : Bunch
        What ``sklstm.inspection.permutation_importance`` returns.
    ax : matplotlib Axes, default=None
        Where to draw; None creates a new figure.

    Returns
    -------
    ax : matplotlib Axes
        One bar per feature or segment, in the result's order from the top,
        with the standard deviation over the repeats as error bars.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from sklstm.plotting import plot_importances
    >>> result = Bunch(importances_mean=np.array([0.3, 0.0]),
    ...                importances_std=np.array([0.05, 0.01]), names=np.array(["a", "b"]))
    >>> [t.get_text() for t in plot_importances(result).get_yticklabels()]
    ['a', 'b']
    """
    plt = _pyplot("plot_importances")
    try:
        mean, std = result.importances_mean, result.importances_std
        names = result.names
    except AttributeError:
        raise TypeError(
            "plot_importances draws what sklstm.inspection.permutation_importance returns "
            f"(importances_mean, importances_std, names); got a {type(result).__name__}."
        ) from None
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 1 + 0.3 * len(names)))
    positions = np.arange(len(names))
    ax.barh(positions, mean, xerr=std, color="tab:blue", capsize=3)
    ax.set_yticks(positions)
    ax.set_yticklabels([str(name) for name in names])
    ax.invert_yaxis()  # the first group on top
    ax.axvline(0, color="gray", linewidth=0.8)
    ax.set_xlabel("drop of the score when shuffled")
    return ax


def _pyplot(name):
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(f"{name} needs matplotlib: pip install matplotlib") from None
    return plt


def _best_epoch(history, epochs):
    losses = [row.get("valid_loss") for row in history]
    if any(loss is None for loss in losses):
        return None
    return epochs[int(np.argmin(losses))]
