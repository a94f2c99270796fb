"""Synthetic sequence classification and regression data for tests and examples."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

_SHAPE_CONSTRAINTS = {
    "n_samples": [Interval(Integral, 1, None, closed="left")],
    "n_timesteps": [Interval(Integral, 1, None, closed="left")],
    "n_features": [Interval(Integral, 1, None, closed="left")],
    "min_timesteps": [Interval(Integral, 1, None, closed="left"), None],
    "noise": [Interval(Real, 0, None, closed="left")],
    "random_state": ["random_state"],
}


@validate_params(
    {**_SHAPE_CONSTRAINTS, "n_classes": [Interval(Integral, 2, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def make_sequence_classification(
    n_samples=100,
    n_timesteps=20,
    n_features=3,
    n_classes=2,
    *,
    min_timesteps=None,
    noise=0.5,
    random_state=None,
):
    """Generate noisy oscillations whose frequency depends on the class.

    Each feature of a sequence of class ``k`` is a sine wave with a random
    phase and a frequency of ``k + 1`` cycles per 20 steps, plus Gaussian
    noise. Telling the classes apart needs the order of the time steps: the
    values alone have the same distribution in every class.

    Parameters
    ----------
    n_samples : int, default=100
        Number of sequences.
    n_timesteps : int, default=20
        Length of the sequences (the longest one if ``min_timesteps`` is set).
    n_features : int, default=3
        Features per time step.
    n_classes : int, default=2
        Number of classes; labels are ``0, ..., n_classes - 1``, balanced.
    min_timesteps : int or None, default=None
        If set, lengths are drawn uniformly from ``[min_timesteps,
        n_timesteps]`` and ``X`` is a list of arrays.
    noise : float, default=0.5
        Standard deviation of the Gaussian noise.
    random_state : int, RandomState instance or None, default=None
        Seed of the random draws.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, n_features) or list
        float32 sequences; a list of ``(n_timesteps_i, n_features)`` arrays
        when ``min_timesteps`` is set.
    y : ndarray of shape (n_samples,)
        Integer class labels.

    Examples
    --------
    >>> from sklstm.datasets import make_sequence_classification
    >>> X, y = make_sequence_classification(n_samples=4, random_state=0)
    >>> X.shape, y.tolist()
    ((4, 20, 3), [0, 1, 0, 1])
    >>> X, y = make_sequence_classification(
    ...     n_samples=3, n_timesteps=9, min_timesteps=5, random_state=0)
    >>> [x.shape for x in X]
    [(9, 3), (5, 3), (8, 3)]
    """
    rng = check_random_state(random_state)
    y = np.arange(n_samples) % n_classes
    lengths = _lengths(rng, n_samples, n_timesteps, min_timesteps)
    X = []
    for label, length in zip(y, lengths):
        t = np.arange(length)[:, None]
        phase = rng.uniform(0, 2 * np.pi, size=n_features)
        wave = np.sin(2 * np.pi * (label + 1) * t / 20 + phase)
        X.append((wave + noise * rng.normal(size=wave.shape)).astype(np.float32))
    if min_timesteps is None:
        X = np.stack(X)
    return X, y


@validate_params(
    {**_SHAPE_CONSTRAINTS, "n_targets": [Interval(Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def make_sequence_regression(
    n_samples=100,
    n_timesteps=20,
    n_features=3,
    n_targets=1,
    *,
    min_timesteps=None,
    noise=0.1,
    random_state=None,
):
    """Generate sums of sine waves whose amplitudes are the targets.

    Each feature of a sequence is ``sum_j y_j * sin(2 pi (j + 1) t / 20 +
    phase)``, one wave of ``j + 1`` cycles per 20 steps for each target
    ``y_j``, drawn uniformly from [0, 1], with random phases, plus Gaussian
    noise. Telling the targets apart needs the order of the time steps: each
    is the amplitude of one frequency.

    Parameters
    ----------
    n_samples : int, default=100
        Number of sequences.
    n_timesteps : int, default=20
        Length of the sequences (the longest one if ``min_timesteps`` is set).
    n_features : int, default=3
        Features per time step.
    n_targets : int, default=1
        Number of targets; ``y`` is 1D when it is 1.
    min_timesteps : int or None, default=None
        If set, lengths are drawn uniformly from ``[min_timesteps,
        n_timesteps]`` and ``X`` is a list of arrays.
    noise : float, default=0.1
        Standard deviation of the Gaussian noise.
    random_state : int, RandomState instance or None, default=None
        Seed of the random draws.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, n_features) or list
        float32 sequences; a list of ``(n_timesteps_i, n_features)`` arrays
        when ``min_timesteps`` is set.
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        The amplitudes.

    Examples
    --------
    >>> from sklstm.datasets import make_sequence_regression
    >>> X, y = make_sequence_regression(n_samples=4, n_targets=2, random_state=0)
    >>> X.shape, y.shape
    ((4, 20, 3), (4, 2))
    """
    rng = check_random_state(random_state)
    y = rng.uniform(0, 1, size=(n_samples, n_targets))
    lengths = _lengths(rng, n_samples, n_timesteps, min_timesteps)
    cycles = np.arange(1, n_targets + 1)
    X = []
    for amplitudes, length in zip(y, lengths):
        t = np.arange(length)[:, None, None]
        phase = rng.uniform(0, 2 * np.pi, size=(n_features, n_targets))
        waves = amplitudes * np.sin(2 * np.pi * cycles * t / 20 + phase)
        signal = waves.sum(axis=2)
        X.append((signal + noise * rng.normal(size=signal.shape)).astype(np.float32))
    if min_timesteps is None:
        X = np.stack(X)
    return X, y[:, 0] if n_targets == 1 else y


def _lengths(rng, n_samples, n_timesteps, min_timesteps):
    """Sequence lengths: all ``n_timesteps``, or drawn from [min, n_timesteps]."""
    if min_timesteps is None:
        return np.full(n_samples, n_timesteps)
    if min_timesteps > n_timesteps:
        raise ValueError(
            f"min_timesteps={min_timesteps} exceeds n_timesteps={n_timesteps}; "
            "n_timesteps is the longest length and must be at least min_timesteps."
        )
    return rng.randint(min_timesteps, n_timesteps + 1, size=n_samples)
