"""What the LSTM classifier and regressor share: parameters, fitting, prediction.

The estimators differ only in their targets (class codes or standardized
values), the loss and how predictions are read from the network's outputs.
"""

import contextlib
import copy
import functools
import math
import warnings
from abc import ABC, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, _fit_context, is_classifier
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted
from skorch.callbacks import (
    Callback,
    EarlyStopping,
    GradientNormClipping,
    LRScheduler,
    ProgressBar,
)
from skorch.helper import predefined_split

from ._callbacks import Converged, CosineLR, SignalProbe
from ._cpu import flush_denormal, native_bfloat16, share_threads
from ._data import DATA_FORMATS, BatchIterator, check_sequences, feature_moments, standardized
from ._distributed import (
    active_group,
    attached,
    broadcast_weights,
    check_same_fit,
    engine,
    fit_on_workers,
    reporting_failures,
    shared_seed,
)
from ._module import NORMALIZE, POOLINGS, LSTMNet
from ._optimizers import OPTIMIZERS

# max_epochs="auto": AUTO_STEPS optimizer steps up to AUTO_BATCHES batches
# per epoch (100 epochs), then steps that grow as the square root of the
# data, so that an epoch costs what it costs but large data sets do not pay
# 100 of them (docs/accuracy.md).
AUTO_STEPS = 2000
AUTO_BATCHES = 20

# early_stopping="auto" (the regressor's default): a first fit holds out
# AUTO_VALIDATION of the data (at least AUTO_MIN_VALIDATION sequences, else
# it is skipped), starts from the training mean and stops once the
# validation loss has not improved for AUTO_PATIENCE of the epoch budget,
# keeping its best epoch: noisy targets stop within a few epochs, near the
# mean. When, from AUTO_PROBE of the budget on, the validation loss is at
# most AUTO_SIGNAL of the mean's and still falling, the data holds a signal
# that is worth all of it, and a second fit trains on all the data for the
# whole budget (docs/regression.md). Otherwise the first fit's model is the
# average of its weights over the epochs up to AUTO_AVERAGE (at most the
# patience) either side of its best one.
AUTO_VALIDATION = 0.2
AUTO_MIN_VALIDATION = 10
AUTO_PATIENCE = 0.1
AUTO_PROBE = 0.05
AUTO_SIGNAL = 0.5
AUTO_AVERAGE = 25

# predict_batch_size="auto": batches of about this many time steps (sequences
# times the longest length), at most PREDICT_MAX_BATCH sequences, and never
# fewer than the training batch. Batches of 256 sequences of 50 steps
# predict fastest on the CPU; 1024 run slower (their activations leave the
# caches), 32 up to 1.8 times slower (benchmarks/predict_speed.py).
PREDICT_STEPS = 2**14
PREDICT_MAX_BATCH = 256

# autocast="auto": bfloat16 training on sequences of at least this many steps
# on average. A training step of 100 to 1460 steps took 0.53-0.84 of
# float32's time on a CPU with AVX512-BF16, one of 2 to 29 steps 0.98-1.17:
# there the casts cost what the bfloat16 arithmetic saves (docs/accuracy.md).
AUTOCAST_MIN_STEPS = 64

class BaseLSTMSequence(BaseEstimator, ABC):
    """Fitting and prediction shared by the LSTM estimators.

    Subclasses set ``_net_class`` (their skorch net), extend
    ``_parameter_constraints`` and implement the abstract methods below:
    how targets are checked and encoded, the network's number of outputs,
    and the loss.
    """

    # The parameters of both estimators (the classifier adds class_weight,
    # the regressor loss).
    _parameter_constraints = {
        "hidden_size": [Interval(Integral, 1, None, closed="left"), tuple, list],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "pooling": [StrOptions(set(POOLINGS))],
        "conv_channels": [tuple, list, None],
        "data_format": [StrOptions(set(DATA_FORMATS))],
        "normalize": [StrOptions({*NORMALIZE[1:], "auto"}), None],
        "lstm_stride": [Interval(Integral, 1, None, closed="left")],
        "bptt_window": [Interval(Integral, 1, None, closed="left"), None],
        "optimizer": [StrOptions(set(OPTIMIZERS)), type],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "predict_batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "max_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "lr_schedule": [StrOptions({"cosine", "plateau", "hold", "constant"})],
        "dtype": [StrOptions({"float32", "float64"})],
        "autocast": [StrOptions({"auto", "bfloat16"}), None],
        "gradient_clip": [Interval(Real, 0, None, closed="neither"), None],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "early_stopping": ["boolean"],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "device": [StrOptions({"cpu", "cuda", "auto"})],
        "callbacks": [list, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }
    _net_class = None

    @abstractmethod
    def _check_y(self, y):
        """Return the validated targets ``y``."""

    @abstractmethod
    def _encode_targets(self, y, weight, classes, continue_training, dtype):
        """Return the network's targets and the loss weights; set fitted target attributes.

        ``weight`` is the checked ``sample_weight`` or None; so may be the
        weights returned (every sample counts the same).
        """

    @abstractmethod
    def _n_outputs(self):
        """Return the number of the network's outputs."""

    @abstractmethod
    def _criterion(self):
        """Return the loss class and its keyword arguments."""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit the network to sequences ``X`` and targets ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or \
                (n_samples, n_timesteps), or list of arrays
            Training sequences; see Notes for the accepted layouts. An
            ``np.memmap``, ``h5py.Dataset`` or ``zarr.Array`` is read a batch
            at a time, never loaded whole.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Class labels (numbers or strings) for the classifier; real-valued
            targets, one column per output, for the regressor.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sequence in the loss.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        parallel = engine()
        if parallel is not None:  # sklstm.parallel_fit: the workers fit, rank 0's comes back
            fitted = fit_on_workers(self, X, y, sample_weight, parallel)
            self.__dict__.clear()
            self.__dict__.update(fitted.__dict__)
            return self
        warm = self.warm_start and hasattr(self, "net_")
        return self._fit(X, y, sample_weight, continue_training=warm)

    def _fit(self, X, y, sample_weight, **kwargs):
        # A fit that fails (bad input, a diverged loss) leaves the estimator
        # as it was: all of its earlier fitted state, not a mix of new
        # attributes (classes_, n_features_in_) and the old network.
        before = dict(self.__dict__)
        try:
            return self._fit_and_replace(X, y, sample_weight, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def _fit_and_replace(
        self, X, y, sample_weight, *, continue_training, incremental=False, classes=None
    ):
        """The steps of a fit: validate, encode the targets, build the net, train.

        ``continue_training`` starts from the previous fit's weights
        (``warm_start``, or ``partial_fit`` after its first call);
        ``incremental`` is ``partial_fit``: one epoch on all of ``X`` at
        ``lr``, keeping the optimizer's state.
        """
        hidden_sizes = self._check_params()
        layout, data = self._training_data(X, y, sample_weight, continue_training, classes)
        group = active_group(self._resolve_device())
        rng = check_random_state(self.random_state)
        if group is not None and not isinstance(self.random_state, Integral):
            # Every rank splits, initializes and shuffles as rank 0 does.
            rng = np.random.RandomState(shared_seed(group, rng.randint(np.iinfo(np.int32).max)))
        if not continue_training:
            self.normalize_, self.input_mean_, self.input_scale_ = self._resolve_normalize(data)
        self.autocast_ = self._resolve_autocast(data)
        auto = self.early_stopping == "auto"  # validation_fraction is the first fit's
        train, valid = self._split(data, rng, None if incremental or auto else self.validation_fraction)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        net = None
        if auto and self._probes(len(data), continue_training, incremental):
            # After the draws of the fit on all the data, which is then the
            # one early_stopping=False makes.
            net, fitted_on = self._probe(data, rng, hidden_sizes, group)
        if net is None:
            net = self._trained_net(
                train, valid, seed, hidden_sizes, group, continue_training, incremental,
                max_epochs=self._epochs(len(train)), schedule=not incremental,
            )
            fitted_on = train
        if not incremental:
            # partial_fit sees one part of the data per call: its batch
            # norms keep their running averages over all the calls.
            net.set_population_statistics(fitted_on, self._predict_batch_size(fitted_on))
        self._layout, self._dtype = layout, np.dtype(self.dtype)
        self.net_ = net
        self.history_ = net.history
        self.n_iter_ = len(net.history)
        return self

    def _probes(self, n_samples, continue_training, incremental):
        """Whether ``early_stopping="auto"`` starts with an early-stopped fit."""
        fraction = self.validation_fraction or AUTO_VALIDATION
        return (
            not (continue_training or incremental)
            and math.ceil(fraction * n_samples) >= AUTO_MIN_VALIDATION
        )

    def _probe(self, data, rng, hidden_sizes, group):
        """The first fit of ``early_stopping="auto"`` and its training data; Nones for a refit.

        It holds out ``validation_fraction`` (a fifth by default), starts
        from an output layer of zeros (the training mean), and stops once
        the validation loss has not improved for a tenth of the epoch
        budget; its model averages the weights of the epochs around the
        best one. ``SignalProbe`` ends it sooner when the data holds a
        signal worth training on all of it.
        """
        train, valid = self._split(data, rng, self.validation_fraction or AUTO_VALIDATION)
        epochs = self._epochs(len(train))
        patience = max(1, math.ceil(AUTO_PATIENCE * epochs))
        probe = SignalProbe(
            valid, math.ceil(AUTO_PROBE * epochs), ratio=AUTO_SIGNAL,
            average=min(AUTO_AVERAGE, patience),
        )
        seed = int(rng.randint(np.iinfo(np.int32).max))
        net = self._trained_net(
            train, valid, seed, hidden_sizes, group, False, False, max_epochs=epochs,
            schedule=True, patience=patience, probe=probe,
        )
        if probe.refit_:
            return None, None
        if probe.averaged_ is not None:  # None if interrupted within the first epoch
            net.module_.load_state_dict(probe.averaged_)
            probe.averaged_ = None  # the net keeps its callbacks; the module has the weights
        return net, train

    def _trained_net(
        self, train, valid, seed, hidden_sizes, group, continue_training, incremental, **build
    ):
        """A new net for ``train`` (``_build_net``'s ``build`` options), trained by ``_train``."""
        net = self._build_net(
            train.n_features, train.values.dtype, hidden_sizes, valid,
            verbose=self.verbose if group is None or group.rank == 0 else 0, **build,
        )
        with reporting_failures(group):
            self._train(net, train, seed, continue_training, incremental, group)
        return net

    def _training_data(self, X, y, sample_weight, continue_training, classes):
        """Return ``(layout, Sequences)``: validated sequences with targets and weights."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        y = self._check_y(y)
        layout = self._layout if continue_training else None
        dtype = np.dtype(self.dtype)
        layout, data = check_sequences(
            self, X, reset=not continue_training, layout=layout, dtype=dtype, on_disk=True
        )
        if len(data) != len(y):
            raise ValueError(
                f"X and y have inconsistent numbers of samples: X has {len(data)} "
                f"sequences, y has {len(y)} targets."
            )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, y, ensure_non_negative=True)
        targets, weight = self._encode_targets(
            y, sample_weight, classes, continue_training, dtype
        )
        return layout, data.with_targets(targets, _loss_weights(weight, dtype))

    def _train(self, net, train, seed, continue_training, incremental, group=None):
        """Initialize ``net`` from ``seed`` (or the previous fit) and train it on ``train``.

        With a data-parallel ``group``, each rank trains on its share of
        every batch (see ``_distributed``).
        """
        with torch.random.fork_rng(devices=self._cuda_devices(net.device)):
            # Only the generators in use: torch.manual_seed would also queue
            # seeds for CUDA, outside the forked state.
            torch.random.default_generator.manual_seed(seed)
            if net.device == "cuda":
                torch.cuda.manual_seed(seed)
            net.initialize()
            if continue_training:
                self._continue_from(self.net_, net, keep_optimizer=incremental)
            # The order of the batches has its own generator, a copy of the
            # global one after the initial weights: without dropout it draws
            # what the global one would; with dropout, ranks draw different
            # masks from the global one and must still agree on the order.
            shuffle = torch.Generator()
            shuffle.set_state(torch.random.default_generator.get_state())
            net.iterator_train__generator = shuffle
            # And the windows of truncated back-propagation: the same on every rank.
            windows = torch.Generator()
            windows.manual_seed(seed)
            net.module_.window_generator = windows
            if group is not None:
                check_same_fit(group, train, net)
                broadcast_weights(group, net.module_)
                torch.random.default_generator.manual_seed(seed + group.rank)  # dropout
            net.notify("on_train_begin", X=train, y=None)
            try:
                with _cpu_settings(enabled=net.device == "cpu"), (
                    contextlib.nullcontext() if group is None else attached(group, net)
                ):
                    net.fit_loop(train, epochs=1 if incremental else None)
            except KeyboardInterrupt:  # skorch's EarlyStopping stops this way too
                if not _stopped_early(net):
                    warnings.warn(
                        f"Training was interrupted after {len(net.history)} "
                        "epoch(s); the model keeps the weights reached so far.",
                        UserWarning,
                        stacklevel=2,
                    )
            net.notify("on_train_end", X=train, y=None)
            net.module_.window_generator = None  # a fitted model draws no windows

    def _outputs(self, X):
        """Return the network's outputs for ``X`` as a float64 CPU tensor."""
        check_is_fitted(self)
        _, data = check_sequences(
            self, X, reset=False, layout=self._layout, dtype=self._dtype, on_disk=True
        )
        batch_size = self._predict_batch_size(data)
        # Flushing and sharing cost about 0.1 ms: worth it beyond one batch.
        many = len(data) > batch_size and self.net_.device == "cpu"
        with _cpu_settings(enabled=many):
            outputs = self.net_.logits(data, batch_size).double().cpu()
        if not np.isfinite(outputs.numpy()).all():  # a fifth of torch's cost here
            raise ValueError(
                "The network's outputs for X are not finite (NaN or infinite): "
                "its weights or activations overflow the floating-point range, "
                "typically after training with too large an lr (this model: "
                f"{self.lr:g}). Refit with a lower lr, or scale X (e.g. with "
                "SequenceScaler) if it holds extreme values."
            )
        return outputs

    def _predict_batch_size(self, data):
        """Sequences per batch when predicting ``data`` (see ``PREDICT_STEPS``)."""
        if self.predict_batch_size != "auto":
            return self.predict_batch_size
        by_steps = PREDICT_STEPS // max(1, data.longest)
        return max(self.batch_size, min(PREDICT_MAX_BATCH, by_steps))

    def __sklearn_is_fitted__(self):
        # What check_is_fitted would find among the attributes, found faster.
        return hasattr(self, "net_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    def _check_params(self):
        """Check the rules that tie parameters together; return layer sizes."""
        for name in ("dropout", "lr", "weight_decay", "gradient_clip", "validation_fraction", "tol"):
            value = getattr(self, name)
            if value is not None and not _is_finite_float(value):
                raise ValueError(
                    f"{name}={value!r} is not a finite floating-point number; pass "
                    "a float within the range of float64."
                )
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
        conv = () if self.conv_channels is None else tuple(self.conv_channels)
        if not all(isinstance(c, Integral) and not isinstance(c, bool) and c >= 1 for c in conv):
            raise ValueError(
                "conv_channels must be None or a tuple of positive ints (channels "
                f"per convolution, e.g. (128, 256, 128)), got {self.conv_channels!r}."
            )
        if not isinstance(self.optimizer, str) and not issubclass(
            self.optimizer, torch.optim.Optimizer
        ):
            raise ValueError(
                "optimizer must be 'adam', 'adamw', 'rmsprop', 'sgd' or a subclass "
                f"of torch.optim.Optimizer, got {self.optimizer!r}."
            )
        if self.autocast == "bfloat16" and self.dtype != "float32":
            raise ValueError(
                f"autocast={self.autocast!r} computes in {self.autocast} beside float32 "
                f"weights; it does not apply to dtype={self.dtype!r}. Set dtype='float32' "
                "or autocast=None."
            )
        own = [cb[-1] if isinstance(cb, tuple) else cb for cb in self.callbacks or []]
        for item, cb in zip(self.callbacks or [], own):
            named = not isinstance(item, tuple) or (len(item) == 2 and isinstance(item[0], str))
            is_callback = isinstance(cb, Callback) or (
                isinstance(cb, type) and issubclass(cb, Callback)
            )
            if not (named and is_callback):
                raise ValueError(
                    "callbacks must be a list of skorch callbacks or (name, "
                    f"callback) pairs, e.g. [('log', EpochScoring('accuracy'))]; "
                    f"got {item!r}."
                )
        if self.lr_schedule != "constant" and any(isinstance(cb, LRScheduler) for cb in own):
            raise ValueError(
                "callbacks include an LRScheduler, which would fight the built-in "
                f"lr_schedule={self.lr_schedule!r} over the learning rate. Set "
                "lr_schedule='constant' to use your own schedule."
            )
        explicit = self.early_stopping and not isinstance(self.early_stopping, str)
        if explicit and self.validation_fraction is None:
            raise ValueError(
                "early_stopping=True watches the validation loss, so it needs a "
                "validation split: set validation_fraction (e.g. 0.1)."
            )
        return hidden_sizes

    def _resolve_normalize(self, data):
        """``normalize_``, ``input_mean_`` and ``input_scale_``: what the network does first.

        With ``"both"``, the steps as given are standardized by the training
        data's mean and standard deviation, feature by feature (1 for a
        constant feature), as the fit weighs the sequences; otherwise the
        two are None.
        """
        normalize = self.normalize
        if normalize not in ("auto", "both"):
            return normalize, None, None
        per_sequence, mean, std = feature_moments(data)
        if normalize == "auto" and standardized(per_sequence, mean, std):
            return None, None, None
        scale = np.where(std > 0, std, 1.0)
        dtype = np.dtype(self.dtype)
        return "both", mean.astype(dtype), scale.astype(dtype)

    def _resolve_autocast(self, data):
        """What the training's forward pass computes in (``autocast_``)."""
        if self.autocast != "auto":
            return self.autocast
        pays = (
            self._resolve_device() == "cpu" and self.dtype == "float32"
            and data.mean_length >= AUTOCAST_MIN_STEPS and native_bfloat16()
        )
        return "bfloat16" if pays else None

    def _split(self, data, rng, fraction):
        """Split off a validation set of ``fraction`` (stratified for classifiers), as views."""
        if fraction is None:
            return data, None
        stratified = is_classifier(self)
        try:
            train, valid = train_test_split(
                np.arange(len(data)),
                test_size=fraction,
                stratify=data.y if stratified else None,
                random_state=rng,
            )
        except ValueError as exc:
            kind = "stratified validation set" if stratified else "validation set"
            fix = "more samples per class" if stratified else "more samples"
            raise ValueError(
                f"validation_fraction={fraction} cannot hold out a "
                f"{kind}: {exc} Use {fix}, another validation_fraction, or "
                "validation_fraction=None."
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

    # max_epochs="auto" trains at least _auto_floor times AUTO_STEPS steps.
    _auto_floor = 1

    def _epochs(self, n_train):
        """Return the number of epochs of a fit on ``n_train`` sequences.

        ``"auto"``: ``AUTO_STEPS`` optimizer steps up to ``AUTO_BATCHES``
        batches per epoch (small training sets need many passes), then
        ``AUTO_STEPS * sqrt(batches / AUTO_BATCHES)`` steps; never fewer
        than ``_auto_floor * AUTO_STEPS``.
        """
        if self.max_epochs != "auto":
            return self.max_epochs
        batches = -(-n_train // self.batch_size)
        steps = AUTO_STEPS * math.sqrt(max(batches, AUTO_BATCHES) / AUTO_BATCHES)
        floor = AUTO_STEPS * self._auto_floor
        if steps <= floor:
            return -(-floor // batches)
        # Whole epochs nearest the steps (a ceiling would add up to one).
        return max(1, round(steps / batches))

    def _build_net(
        self, n_features, dtype, hidden_sizes, valid, device=None, max_epochs=1,
        schedule=False, verbose=None, patience=None, probe=None,
    ):
        device = self._resolve_device() if device is None else device
        verbose = self.verbose if verbose is None else verbose
        optimizer = OPTIMIZERS.get(self.optimizer, self.optimizer)
        optimizer_params = {}
        if self.weight_decay or optimizer in OPTIMIZERS.values():
            optimizer_params["optimizer__weight_decay"] = self.weight_decay
        if optimizer is torch.optim.SGD:
            optimizer_params["optimizer__momentum"] = 0.9
        if optimizer in OPTIMIZERS.values() and _has_fused_kernel(optimizer, device):
            optimizer_params["optimizer__fused"] = True
        criterion, criterion_params = self._criterion()
        module_params = self._module_params(n_features, dtype, hidden_sizes)
        return self._net_class(
            module=LSTMNet,
            **{f"module__{key}": value for key, value in module_params.items()},
            criterion=criterion,
            optimizer=optimizer,
            lr=self.lr,
            max_epochs=max_epochs,
            batch_size=self.batch_size,
            iterator_train=BatchIterator,
            iterator_train__shuffle=True,
            iterator_valid=BatchIterator,
            train_split=None if valid is None else predefined_split(valid),
            callbacks=self._net_callbacks(valid is not None, schedule, verbose, patience, probe),
            predict_nonlinearity=None,
            verbose=int(verbose > 0),
            device=device,
            **{f"criterion__{key}": value for key, value in criterion_params.items()},
            **optimizer_params,
        )

    def _module_params(self, n_features, dtype, hidden_sizes):
        """The keyword arguments of ``LSTMNet`` for this estimator."""
        return dict(
            n_features=n_features,
            n_outputs=self._n_outputs(),
            hidden_sizes=hidden_sizes,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            pooling=self.pooling,
            conv_channels=tuple(self.conv_channels or ()),
            normalize=self.normalize_,
            lstm_stride=self.lstm_stride,
            bptt_window=self.bptt_window,
            dtype=getattr(torch, np.dtype(dtype).name),
            autocast=None if self.autocast_ is None else getattr(torch, self.autocast_),
            autocast_inference=self.autocast != "auto",
            input_mean=self.input_mean_,
            input_scale=self.input_scale_,
        )

    def _n_step_features(self):
        """Features per time step that the network reads."""
        return 1 if self._layout == "table" else self.n_features_in_

    def _initialized_net(self, device):
        """A net for the fitted attributes, with initial weights (for ``sklstm.load``)."""
        net = self._build_net(
            self._n_step_features(), self._dtype, self._check_params(), None, device
        )
        with torch.random.fork_rng(devices=[]):  # initial weights are replaced
            net.initialize()
        return net

    def _restore_net(self, module_state, optimizer_state, history, device):
        """Rebuild ``net_`` from saved state (checked by ``sklstm.load``)."""
        net = self._initialized_net(device)
        self._adopt_net(net, module_state, optimizer_state, history)

    def __getstate__(self):
        # Pickles (and skops, mlflow, joblib) hold the network as plain data:
        # weights and optimizer buffers as arrays, the history as dicts. No
        # skorch or torch object is pickled, so the only classes an unpickler
        # must trust are sklstm's own (see ``skops_trusted_types``), and the
        # network is rebuilt for the device and torch version that load it.
        state = dict(super().__getstate__())  # a copy: object's is __dict__ itself
        if "_dtype" in state:
            state["_dtype"] = state["_dtype"].name  # a string: np.dtype is a class to trust
        net = state.pop("net_", None)
        if net is not None:
            state.pop("history_", None)
            state["net_"] = {
                "device": str(net.device),
                "module": _plain(net.module_.state_dict()),
                "optimizer": _plain(net.optimizer_.state_dict()),
                "history": _plain(list(net.history)),
            }
            if self.callbacks:  # the user's own, as trained (e.g. what they recorded)
                state["net_"]["callbacks"] = net.callbacks_[-len(self.callbacks):]
        return state

    def __setstate__(self, state):
        state = dict(state)
        if isinstance(state.get("_dtype"), str):
            state["_dtype"] = np.dtype(state["_dtype"])
        net = state.pop("net_", None)
        if not isinstance(net, dict):  # unfitted, or a pickle of an earlier sklstm
            if net is not None:
                state["net_"] = net
            super().__setstate__(state)
            return
        state.setdefault("normalize_", state.get("normalize"))  # an earlier sklstm's
        state.setdefault("autocast_", state.get("autocast"))
        state.setdefault("input_mean_", None)  # an earlier sklstm read "both" unscaled
        state.setdefault("input_scale_", None)
        super().__setstate__(state)
        from ._persist import net_device
        from ._schema import restore_net

        fields = {"device", "module", "optimizer", "history"}
        if not fields <= set(net) <= fields | {"callbacks"}:
            raise ValueError(f"The pickled network has fields {sorted(net)}, not sklstm's.")
        restore_net(
            self, net_device(net["device"]), net["module"], net["optimizer"], net["history"]
        )
        callbacks = net.get("callbacks")
        if callbacks:
            self.net_.callbacks_ = self.net_.callbacks_[: -len(callbacks)] + list(callbacks)

    def _adopt_net(self, net, module_state, optimizer_state, history):
        net.module_.load_state_dict(module_state)
        _load_optimizer_state(net.optimizer_, optimizer_state)
        net.history_ = history
        self.net_ = net
        self.history_ = net.history

    def _net_callbacks(self, has_validation, schedule, verbose, patience=None, probe=None):
        callbacks = [] if probe is None else [("signal_probe", probe)]
        if schedule and self.lr_schedule != "constant":
            hold = None if self.lr_schedule == "cosine" else Converged.TAIL
            callbacks.append(("lr_schedule", CosineLR(hold, stop=self.lr_schedule == "hold")))
        if self.gradient_clip is not None:
            callbacks.append(("gradient_clip", GradientNormClipping(self.gradient_clip)))
        if self.early_stopping and has_validation:
            stopper = EarlyStopping(patience=patience or self.n_iter_no_change, load_best=True)
            callbacks.append(("early_stopping", stopper))
        elif schedule and self.tol is not None:
            callbacks.append(("converged", Converged(self.tol, self.n_iter_no_change)))
        if verbose >= 2:
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
            _load_optimizer_state(net.optimizer_, previous.optimizer_.state_dict())
        net.history_ = previous.history_


def _loss_weights(weight, dtype):
    """The weights of the loss in the network's dtype, or None for a plain mean."""
    if weight is None or (weight[0] > 0 and np.all(weight == weight[0])):
        return None  # equal weights: the weighted mean is the plain mean
    return weight.astype(dtype, copy=False)


def _is_finite_float(value):
    """Whether ``value`` converts to a finite float (an int may exceed float64)."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _plain(value):
    """``value`` with tensors as numpy arrays and numpy scalars as Python numbers.

    Dicts, lists and tuples are rebuilt around their items.
    """
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    return value


def _load_optimizer_state(optimizer, state):
    """Load ``state`` (e.g. Adam's moments) into ``optimizer``, keeping its settings.

    The settings of ``optimizer`` (lr, weight decay, the fused kernel) are
    those of the estimator now, not those saved with the state.
    """
    fresh = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, settings in zip(optimizer.param_groups, fresh):
        group.update(settings)


@functools.cache
def _has_fused_kernel(optimizer, device):
    """Whether torch has a fused step of ``optimizer`` for parameters on ``device``.

    The fused step updates each parameter in one pass instead of one call
    per arithmetic operation: the same update, computed about three times
    faster for this network on the CPU (torch >= 2.4 has it there).
    """
    try:
        optimizer([torch.zeros(1, device=device, requires_grad=True)], lr=1.0, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return False
    return True


@contextlib.contextmanager
def _cpu_settings(enabled):
    """Denormals flushed in all torch threads, threads shared with other fits."""
    if not enabled:
        yield
        return
    with flush_denormal(), share_threads():
        yield


def _stopped_early(net):
    """Whether skorch's EarlyStopping, or convergence, ended the training loop."""
    callbacks = dict(net.callbacks_)
    if getattr(callbacks.get("signal_probe"), "refit_", False):
        return True
    stopper = callbacks.get("early_stopping")
    if stopper is not None:
        return stopper.misses_ >= stopper.patience
    # Converged raises at the end of the epoch it stops at (an interrupt
    # during its anneal comes before it).
    converged = callbacks.get("converged")
    return converged is not None and converged.stop_at_ is not None and (
        converged.epoch_ >= converged.stop_at_
    )
