"""LSTMSequenceClassifier: a scikit-learn classifier over a skorch-trained LSTM."""

import contextlib
import copy
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from skorch.callbacks import EarlyStopping, GradientNormClipping, ProgressBar
from skorch.helper import predefined_split
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_random_state, compute_class_weight
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d

from ._data import BatchIterator, check_sequences
from ._cpu import flush_denormal, share_threads
from ._module import POOLINGS, LSTMNet
from ._net import SequenceNet

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "sgd": torch.optim.SGD,
}


class LSTMSequenceClassifier(ClassifierMixin, BaseEstimator):
    """Sequence classifier: an LSTM trained by skorch, used like any sklearn model.

    Each sequence is read by one or more stacked (optionally bidirectional)
    LSTM layers; their per-step outputs are pooled over time into one vector,
    and a linear layer with softmax gives the class probabilities. Training
    minimises the (weighted) cross-entropy with mini-batches.

    Parameters
    ----------
    hidden_size : int or tuple of int, default=64
        Units per LSTM layer (per direction). A tuple gives one layer per
        entry, e.g. ``(128, 64)``.
    num_layers : int, default=1
        Number of stacked layers when ``hidden_size`` is an int.
    bidirectional : bool, default=True
        Whether each layer also reads the sequences backwards.
    dropout : float, default=0.0
        Dropout rate in [0, 1) between stacked layers and before the output
        layer.
    pooling : {"mean_max", "mean", "max", "last"}, default="mean_max"
        How the per-step outputs of the last layer become one vector: their
        mean and maximum over time side by side, either alone, or the final
        hidden state of each direction. Padding never enters any of them.
    optimizer : {"adam", "adamw", "rmsprop", "sgd"} or torch.optim.Optimizer \
            subclass, default="adam"
        The optimizer; ``"sgd"`` uses momentum 0.9.
    lr : float, default=3e-3
        Learning rate.
    weight_decay : float, default=0.0
        L2 penalty (decoupled for ``"adamw"``).
    batch_size : int, default=32
        Sequences per mini-batch, in training and prediction.
    max_epochs : int, default=100
        Number of passes over the training data (fewer with early stopping).
    dtype : {"float32", "float64"}, default="float32"
        Floating-point type of the weights and computations. float64 is
        slower but rounds far less, e.g. for inputs of a large dynamic range.
    gradient_clip : float or None, default=1.0
        Largest norm of the gradient; larger gradients are rescaled. None
        disables clipping.
    validation_fraction : float or None, default=None
        Fraction of the training data held out (stratified) to report
        ``valid_loss`` and ``valid_acc`` in ``history_`` after each epoch.
    early_stopping : bool, default=False
        Stop when the validation loss has not improved for
        ``n_iter_no_change`` epochs and restore the best weights. Needs
        ``validation_fraction``.
    n_iter_no_change : int, default=10
        Patience of early stopping, in epochs.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in other sklearn classifiers.
    device : {"cpu", "cuda", "auto"}, default="cpu"
        Where to train and predict; ``"auto"`` picks CUDA when available.
    callbacks : list of skorch callbacks or None, default=None
        Extra skorch callbacks (e.g. ``LRScheduler``, ``Checkpoint``); they
        are copied in ``fit``, so the objects passed stay untouched.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and the validation
        split. An int gives bit-identical predictions on the CPU.
    verbose : int, default=0
        0 is silent, 1 prints skorch's table of one line per epoch, 2 also
        shows a progress bar within each epoch.
    warm_start : bool, default=False
        If True, ``fit`` continues from the weights of the previous fit (the
        optimizer starts afresh) instead of initialising new ones.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels, with the dtype of ``y``.
    n_features_in_ : int
        Features per time step; for a 2D input, its number of columns.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when fitted on a DataFrame with string column names.
    net_ : skorch.NeuralNet
        The fitted skorch net; the PyTorch module is ``net_.module_``.
    history_ : skorch.History
        One entry per epoch: ``train_loss``, ``dur`` and, with a validation
        split, ``valid_loss`` and ``valid_acc``.
    n_iter_ : int
        Number of epochs trained, over all calls with ``warm_start`` or
        ``partial_fit``.

    See Also
    --------
    sklearn.neural_network.MLPClassifier : Feed-forward network for tabular
        data.

    Notes
    -----
    ``X`` may be a 3D array ``(n_samples, n_timesteps, n_features)``, a 2D
    array or DataFrame ``(n_samples, n_timesteps)`` of univariate sequences,
    or a list of 2D ``(n_timesteps_i, n_features)`` or 1D arrays of different
    lengths. Sequences of different lengths are padded per batch; the LSTM
    reads each sequence within its own length (as with
    ``torch.nn.utils.rnn.pack_padded_sequence``, but on the faster dense
    kernel) and the pooling ignores the padding, so a sequence gets the same
    prediction whatever it is batched with. The number of time steps may
    differ between ``fit`` and ``predict`` for 3D and list input.

    On the CPU, ``fit`` (and ``predict_proba`` beyond one batch) flushes
    denormal floats to zero in all of torch's threads, which can make
    training several times faster (saturated gates, vanishing gradients)
    and changes results by less than 1e-38; fits running at once in threads
    of one process split torch's threads between them. The settings of the
    calling thread and of torch are restored afterwards.

    With ``sample_weight`` (and ``class_weight``), each batch's loss is the
    weighted mean of its samples' losses. Integer weights are exactly
    equivalent to repeating samples when one batch holds the whole training
    set (``batch_size >= n_samples``); with smaller batches they are
    equivalent on average.

    Examples
    --------
    >>> from sklstm import LSTMSequenceClassifier
    >>> from sklstm.datasets import make_sequence_classification
    >>> X, y = make_sequence_classification(n_samples=60, random_state=0)
    >>> X.shape
    (60, 20, 3)
    >>> clf = LSTMSequenceClassifier(hidden_size=16, max_epochs=40, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {
        "hidden_size": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "pooling": [StrOptions(set(POOLINGS))],
        "optimizer": [StrOptions(set(OPTIMIZERS)), type],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "dtype": [StrOptions({"float32", "float64"})],
        "gradient_clip": [Interval(Real, 0, None, closed="neither"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "early_stopping": ["boolean"],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        "callbacks": [list, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

    def __init__(
        self,
        hidden_size=64,
        *,
        num_layers=1,
        bidirectional=True,
        dropout=0.0,
        pooling="mean_max",
        optimizer="adam",
        lr=3e-3,
        weight_decay=0.0,
        batch_size=32,
        max_epochs=100,
        dtype="float32",
        gradient_clip=1.0,
        validation_fraction=None,
        early_stopping=False,
        n_iter_no_change=10,
        class_weight=None,
        device="cpu",
        callbacks=None,
        random_state=None,
        verbose=0,
        warm_start=False,
    ):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.pooling = pooling
        self.optimizer = optimizer
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.dtype = dtype
        self.gradient_clip = gradient_clip
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.class_weight = class_weight
        self.device = device
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to sequences ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of arrays
            Training sequences; see Notes for the accepted layouts.
        y : array-like of shape (n_samples,)
            Class labels (numbers or strings).
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sequence in the loss.

        Returns
        -------
        self : LSTMSequenceClassifier
            The fitted classifier.
        """
        warm = self.warm_start and hasattr(self, "net_")
        return self._fit(X, y, sample_weight, continue_training=warm, classes=None)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one more epoch on ``X``, ``y`` (no validation split).

        Parameters
        ----------
        X : array-like or list of arrays
            Training sequences, in the layout used by earlier calls.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            All classes that will ever appear. Taken from ``y`` when None on
            the first call; later calls must not introduce new classes.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sequence in the loss.

        Returns
        -------
        self : LSTMSequenceClassifier
            The updated classifier.
        """
        first = not hasattr(self, "net_")
        if classes is None and first:
            classes = np.unique(np.asarray(y))
        return self._fit(
            X, y, sample_weight, continue_training=not first, classes=classes, epochs=1
        )

    def predict_proba(self, X):
        """Return class probabilities for each sequence.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences in the layout used in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        check_is_fitted(self)
        _, data = check_sequences(
            self, X, reset=False, layout=self._layout, dtype=self._dtype
        )
        # Flushing and sharing cost about 0.1 ms: worth it beyond one batch.
        many = len(data) > self.net_.batch_size and self.net_.device == "cpu"
        with _cpu_settings(enabled=many):
            logits = self.net_.logits(data)
        return torch.softmax(logits.double(), dim=1).cpu().numpy()

    def predict(self, X):
        """Return the predicted class label of each sequence.

        Parameters
        ----------
        X : array-like or list of arrays
            Sequences in the layout used in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def __sklearn_is_fitted__(self):
        # What check_is_fitted would find among the attributes, found faster.
        return hasattr(self, "net_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    # -- fitting -----------------------------------------------------------

    def _fit(self, X, y, sample_weight, *, continue_training, classes, epochs=None):
        hidden_sizes = self._check_params()
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        y = column_or_1d(check_array(y, ensure_2d=False, dtype=None, input_name="y"), warn=True)
        check_classification_targets(y)
        layout = self._layout if continue_training else None
        dtype = np.dtype(self.dtype)
        layout, data = check_sequences(
            self, X, reset=not continue_training, layout=layout, dtype=dtype
        )
        if len(data) != len(y):
            raise ValueError(
                f"X and y have inconsistent numbers of samples: X has {len(data)} "
                f"sequences, y has {len(y)} labels."
            )
        codes = self._encode(y, classes, continue_training)
        weight = self._sample_weight(sample_weight, y, codes)
        data = data.with_targets(codes, weight)

        rng = check_random_state(self.random_state)
        if epochs is not None:  # partial_fit
            train, valid = data, None
        else:
            train, valid = self._split(data, codes, rng)
        net = self._build_net(data.n_features, data.values.dtype, hidden_sizes, valid)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        with torch.random.fork_rng(devices=self._cuda_devices(net.device)):
            # Only the generators in use: torch.manual_seed would also queue
            # seeds for CUDA, outside the forked state.
            torch.random.default_generator.manual_seed(seed)
            if net.device == "cuda":
                torch.cuda.manual_seed(seed)
            net.initialize()
            if continue_training:
                self._continue_from(self.net_, net, keep_optimizer=epochs is not None)
            net.notify("on_train_begin", X=train, y=None)
            try:
                with _cpu_settings(enabled=net.device == "cpu"):
                    net.fit_loop(train, epochs=epochs)
            except KeyboardInterrupt:  # skorch's EarlyStopping stops this way too
                if not _stopped_early(net):
                    warnings.warn(
                        f"Training was interrupted after {len(net.history)} "
                        "epoch(s); the model keeps the weights reached so far.",
                        UserWarning,
                    )
            net.notify("on_train_end", X=train, y=None)

        self._layout, self._dtype = layout, dtype
        self.net_ = net
        self.history_ = net.history
        self.n_iter_ = len(net.history)
        return self

    def _check_params(self):
        """Check the rules that tie parameters together; return layer sizes."""
        if isinstance(self.hidden_size, Integral):
            hidden_sizes = (self.hidden_size,) * self.num_layers
        else:
            hidden_sizes = tuple(self.hidden_size)
            valid = all(
                isinstance(h, Integral) and not isinstance(h, bool) and h >= 1
                for h in hidden_sizes
            )
            if not hidden_sizes or not valid:
                raise ValueError(
                    "hidden_size must be a positive int or a non-empty tuple of "
                    f"positive ints (one per layer), got {self.hidden_size!r}."
                )
            if self.num_layers != 1:
                raise ValueError(
                    f"hidden_size={self.hidden_size!r} already gives one layer per "
                    f"entry, so num_layers={self.num_layers} is ambiguous. Leave "
                    "num_layers=1, or pass an int hidden_size with num_layers."
                )
        if not isinstance(self.optimizer, str) and not issubclass(
            self.optimizer, torch.optim.Optimizer
        ):
            raise ValueError(
                "optimizer must be 'adam', 'adamw', 'rmsprop', 'sgd' or a subclass "
                f"of torch.optim.Optimizer, got {self.optimizer!r}."
            )
        if self.early_stopping and self.validation_fraction is None:
            raise ValueError(
                "early_stopping=True watches the validation loss, so it needs a "
                "validation split: set validation_fraction (e.g. 0.1)."
            )
        return hidden_sizes

    def _encode(self, y, classes, continue_training):
        """Return the class codes of ``y``, setting ``classes_`` on a new fit."""
        if continue_training:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={list(classes)} differ from the classes of the "
                    f"earlier fit, {list(self.classes_)}."
                )
            known = self.classes_
        else:
            known = np.unique(y if classes is None else np.asarray(classes))
            if len(known) < 2:
                where = "y" if classes is None else "classes"
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes, but {where} "
                    f"contains only one class: {known[0]!r}."
                )
        new = np.setdiff1d(y, known)
        if new.size:
            raise ValueError(
                f"y contains labels {list(new)} that are not among the classes "
                f"{list(known)}; {self._how_to_add_classes(continue_training)}"
            )
        if not continue_training:
            self.classes_ = known
        return np.searchsorted(known, y).astype(np.int64)

    def _how_to_add_classes(self, continue_training):
        if continue_training and self.warm_start:
            return "set warm_start=False to train a new model on them."
        return "pass all classes in `classes` on the first call to partial_fit."

    def _sample_weight(self, sample_weight, y, codes):
        """Return per-sample loss weights, or None if all are equal."""
        weight = _check_sample_weight(sample_weight, y, ensure_non_negative=True)
        if self.class_weight is not None:
            per_class = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
            weight = weight * per_class[codes]
        if weight[0] > 0 and np.all(weight == weight[0]):
            return None  # the weighted mean is the plain mean
        return weight.astype(np.float32)

    def _split(self, data, codes, rng):
        """Split off the stratified validation set, as views of ``data``."""
        if self.validation_fraction is None:
            return data, None
        try:
            train, valid = train_test_split(
                np.arange(len(data)),
                test_size=self.validation_fraction,
                stratify=codes,
                random_state=rng,
            )
        except ValueError as exc:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} cannot hold out a "
                f"stratified validation set: {exc} Use more samples per class, "
                "another validation_fraction, or validation_fraction=None."
            ) from None
        return data.subset(np.sort(train)), data.subset(np.sort(valid))

    def _resolve_device(self):
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                "device='cuda' was requested but PyTorch finds no CUDA device "
                "(torch.cuda.is_available() is False). Use device='cpu', or "
                "device='auto' to use CUDA only when it is present."
            )
        return self.device

    @staticmethod
    def _cuda_devices(device):
        return [torch.cuda.current_device()] if device == "cuda" else []

    def _build_net(self, n_features, dtype, hidden_sizes, valid, device=None):
        optimizer = OPTIMIZERS.get(self.optimizer, self.optimizer)
        optimizer_params = {}
        if self.weight_decay or optimizer in OPTIMIZERS.values():
            optimizer_params["optimizer__weight_decay"] = self.weight_decay
        if optimizer is torch.optim.SGD:
            optimizer_params["optimizer__momentum"] = 0.9
        return SequenceNet(
            module=LSTMNet,
            module__n_features=n_features,
            module__n_outputs=len(self.classes_),
            module__hidden_sizes=hidden_sizes,
            module__bidirectional=self.bidirectional,
            module__dropout=self.dropout,
            module__pooling=self.pooling,
            module__dtype=getattr(torch, np.dtype(dtype).name),
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            iterator_train=BatchIterator,
            iterator_train__shuffle=True,
            iterator_valid=BatchIterator,
            train_split=None if valid is None else predefined_split(valid),
            callbacks=self._net_callbacks(has_validation=valid is not None),
            predict_nonlinearity=None,
            verbose=int(self.verbose > 0),
            device=self._resolve_device() if device is None else device,
            **optimizer_params,
        )

    def _restore_net(self, module_state, optimizer_state, history, device):
        """Rebuild ``net_`` from saved state (for ``sklstm.load``)."""
        n_features = 1 if self._layout == "table" else self.n_features_in_
        net = self._build_net(n_features, self._dtype, self._check_params(), None, device)
        with torch.random.fork_rng(devices=[]):  # initial weights are replaced
            net.initialize()
        net.module_.load_state_dict(module_state)
        net.optimizer_.load_state_dict(optimizer_state)
        net.history_ = history
        self.net_ = net
        self.history_ = net.history

    def _net_callbacks(self, has_validation):
        callbacks = []
        if self.gradient_clip is not None:
            callbacks.append(("gradient_clip", GradientNormClipping(self.gradient_clip)))
        if self.early_stopping and has_validation:
            stopper = EarlyStopping(patience=self.n_iter_no_change, load_best=True)
            callbacks.append(("early_stopping", stopper))
        if self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        return callbacks + copy.deepcopy(self.callbacks or [])

    @staticmethod
    def _continue_from(previous, net, keep_optimizer):
        """Start ``net`` from the weights and history of ``previous``.

        ``partial_fit`` also keeps the optimizer's state (e.g. Adam's moments)
        when the optimizer is unchanged, with the current lr and weight decay.
        """
        try:
            net.module_.load_state_dict(previous.module_.state_dict())
        except RuntimeError:
            raise ValueError(
                "Cannot continue training from the previous fit: the network's "
                "shape (hidden_size, num_layers, bidirectional or pooling) "
                "changed. Set warm_start=False, or call fit instead of "
                "partial_fit, to train a new model."
            ) from None
        if keep_optimizer and type(net.optimizer_) is type(previous.optimizer_):
            groups = net.optimizer_.param_groups
            fresh = [{k: v for k, v in g.items() if k != "params"} for g in groups]
            net.optimizer_.load_state_dict(previous.optimizer_.state_dict())
            for group, settings in zip(net.optimizer_.param_groups, fresh):
                group.update(settings)
        net.history_ = previous.history_


@contextlib.contextmanager
def _cpu_settings(enabled):
    """Denormals flushed in all torch threads, threads shared with other fits."""
    if not enabled:
        yield
        return
    with flush_denormal(), share_threads():
        yield


def _stopped_early(net):
    """Whether skorch's EarlyStopping ended the training loop."""
    stopper = dict(net.callbacks_).get("early_stopping")
    return stopper is not None and stopper.misses_ == stopper.patience
