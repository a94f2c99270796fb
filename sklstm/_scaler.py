"""SequenceScaler: per-feature standardization of sequences."""

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from ._data import DATA_FORMATS, check_output_container, check_sequences, to_input_layout
from ._views import map_steps


class SequenceScaler(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Standardize each feature over all time steps of all sequences.

    The mean and standard deviation of every feature are computed over every
    time step of every training sequence; ``transform`` subtracts the mean
    and divides by the standard deviation. It is ``StandardScaler`` for
    sequences, fitted on the training data only inside a ``Pipeline``.

    Parameters
    ----------
    with_mean : bool, default=True
        Whether to subtract the mean.
    with_std : bool, default=True
        Whether to divide by the standard deviation.
    data_format : {"channels_last", "channels_first"}, default="channels_last"
        The layout of 3D and list input, as for ``LSTMSequenceClassifier``:
        ``(n_samples, n_timesteps, n_features)`` or, channels first,
        ``(n_samples, n_features, n_timesteps)`` (aeon's and sktime's
        numpy3D). ``transform`` returns this layout, also for sktime's
        DataFrame containers.

    Attributes
    ----------
    mean_ : ndarray of shape (n_step_features,)
        Mean of each feature per time step (one value for 2D univariate
        input); zeros when ``with_mean=False``.
    var_ : ndarray of shape (n_step_features,)
        Variance of each feature.
    scale_ : ndarray of shape (n_step_features,)
        Standard deviation used to divide, 1 for a constant feature; ones
        when ``with_std=False``.
    n_features_in_ : int
        As for ``LSTMSequenceClassifier``: features per time step for 3D or
        ragged input, the number of columns (time steps) for 2D input.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when ``fit`` was given a DataFrame with string names.

    See Also
    --------
    SlidingWindowTransformer : Windows over a long series; scaling them stays
        a view.
    sklearn.preprocessing.StandardScaler : The same for 2D tables of features.

    Notes
    -----
    Accepts the classifier's layouts: 3D arrays ``(n_samples, n_timesteps,
    n_features)``, 2D arrays of univariate sequences (all values are one
    feature) and lists of sequences of different lengths, returned as lists
    with each sequence's shape. float32 stays float32; anything else becomes
    float64. Windows from ``SlidingWindowTransformer`` are scaled once per
    underlying row and returned as the same kind of read-only view, so
    scaling costs the memory of the series, not of the windows.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import SequenceScaler
    >>> X = [np.array([[1.0, 10.0], [3.0, 30.0]]), np.array([[5.0, 50.0]])]
    >>> scaler = SequenceScaler().fit(X)
    >>> scaler.mean_
    array([ 3., 30.])
    >>> [x.shape for x in scaler.transform(X)]
    [(2, 2), (1, 2)]
    >>> scaler.transform(X)[1]
    array([[1.22474487, 1.22474487]])
    """

    _parameter_constraints = {
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
        "data_format": [StrOptions(set(DATA_FORMATS))],
    }

    def __init__(self, *, with_mean=True, with_std=True, data_format="channels_last"):
        self.with_mean = with_mean
        self.with_std = with_std
        self.data_format = data_format

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Compute each feature's mean and standard deviation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of array-like
            Training sequences.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted scaler.
        """
        self._layout, seqs = check_sequences(self, X, reset=True, dtype=_float_dtype(X))
        mean, var = _moments(seqs.values)
        self.mean_ = mean if self.with_mean else np.zeros_like(mean)
        self.var_ = var
        self.scale_ = np.ones_like(var)
        if self.with_std:
            std = np.sqrt(var)
            # As StandardScaler: a (near-)constant feature is left unscaled.
            constant = std < 10 * np.finfo(np.float64).eps * np.maximum(1.0, np.abs(mean))
            self.scale_ = np.where(constant, 1.0, std)
        return self

    def transform(self, X):
        """Standardize ``X`` with the fitted mean and scale.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of array-like
            Sequences in the layout seen in ``fit``.

        Returns
        -------
        X_scaled : ndarray or list of ndarray
            Same layout and shapes as ``X``. A 2D result follows
            ``set_output`` (e.g. a pandas DataFrame); sequences cannot be a
            table, so ``set_output(transform="pandas")`` refuses them.
        """
        return check_output_container(self, self._apply(X, _standardize))

    def inverse_transform(self, X):
        """Undo ``transform``: multiply by the scale and add the mean.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of array-like
            Scaled sequences in the layout seen in ``fit``.

        Returns
        -------
        X_original : ndarray or list of ndarray
            Same layout and shapes as ``X``.
        """
        return self._apply(X, _unstandardize)

    def _apply(self, X, func):
        check_is_fitted(self)
        dtype = _float_dtype(X)
        _, seqs = check_sequences(self, X, reset=False, layout=self._layout, dtype=dtype)
        mean, scale = self.mean_.astype(dtype), self.scale_.astype(dtype)
        values = map_steps(seqs.values, lambda v: func(v, mean, scale))
        channels_first = self.data_format == "channels_first"
        return to_input_layout(X, self._layout, seqs, values, channels_first)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _standardize(values, mean, scale):
    out = values - mean
    out /= scale  # in place: one new array, not two
    return out


def _unstandardize(values, mean, scale):
    out = values * scale
    out += mean
    return out


def _float_dtype(X):
    """float32 if ``X`` (or every sequence in it) is float32, else float64."""
    if isinstance(X, np.ndarray) and X.dtype != object:
        is_float32 = X.dtype == np.float32
    elif isinstance(X, (list, tuple, np.ndarray)) and len(X):
        is_float32 = all(getattr(x, "dtype", None) == np.float32 for x in X)
    else:
        is_float32 = False
    return np.float32 if is_float32 else np.float64


def _moments(values, chunk_elements=2**18):
    """Per-feature mean and variance over all steps, in float64, chunk by chunk.

    Chunks keep memory small when ``values`` is a view of overlapping windows.
    """
    n_features = values.shape[-1]
    per_chunk = max(1, chunk_elements // max(1, values[0].size))

    def chunks():
        for start in range(0, len(values), per_chunk):
            yield values[start : start + per_chunk].reshape(-1, n_features).astype(np.float64)

    n_steps = values.size // n_features
    mean = sum(c.sum(axis=0) for c in chunks()) / n_steps
    var = sum(((c - mean) ** 2).sum(axis=0) for c in chunks()) / n_steps
    return mean, var
