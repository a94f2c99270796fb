"""Plots of fitted models (needs matplotlib: ``pip install matplotlib``)."""

import numpy as np
from sklearn.exceptions import NotFittedError

__all__ = ["plot_history"]

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


def _best_epoch(history, epochs):
    losses = [row.get("valid_loss") for row in history]
    if any(loss is None for loss in losses):
        return None
    return epochs[int(np.argmin(losses))]
