"""LSTMSequenceClassifier: a scikit-learn classifier over a skorch-trained LSTM."""

import numpy as np
import torch
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.utils import check_array, compute_class_weight
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ._base import BaseLSTMSequence
from ._net import ClassifierNet


class LSTMSequenceClassifier(ClassifierMixin, BaseLSTMSequence):
    """Sequence classifier: an LSTM trained by skorch, used like any sklearn model.

    Each sequence is read by one or more stacked (optionally bidirectional)
    LSTM layers; their per-step outputs are pooled over time into one vector,
    and a linear layer with softmax gives the class probabilities. Training
    minimises the (weighted) cross-entropy with mini-batches.

    Parameters
    ----------
    hidden_size : int or tuple of int, default=32
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
    conv_channels : tuple of int or None, default=(32, 64, 32)
        A convolutional block beside the LSTM, as in LSTM-FCN: one
        ``Conv1d`` (kernels 8, 5, then 3), batch norm and ReLU per entry,
        e.g. ``(128, 256, 128)``, averaged over the real time steps and
        joined to the LSTM's pooled output before the linear layer. It reads
        local shapes that an LSTM learns slowly. None: LSTM only. The batch
        norm's training statistics cover the real steps only, each sequence
        weighed by its sample weight, so an integer weight still counts as
        repeating the sequence. At the end of ``fit`` its statistics for
        prediction become those of the training data (up to 10,000
        sequences of it) under the final weights, instead of the running
        average of training's batches; ``partial_fit`` keeps the running
        average.
    data_format : {"channels_last", "channels_first"}, default="channels_last"
        The layout of 3D and list input: ``"channels_last"`` reads
        ``(n_samples, n_timesteps, n_features)`` arrays and
        ``(n_timesteps_i, n_features)`` sequences, as Keras and PyTorch's
        ``batch_first`` LSTMs do; ``"channels_first"`` reads ``(n_samples,
        n_features, n_timesteps)`` and ``(n_features, n_timesteps_i)``, the
        numpy3D layout of aeon and sktime (their univariate ``(n, 1, T)``
        included). 2D tables are univariate sequences either way, and
        sktime's nested and pd-multiindex DataFrames are read by their type.
    normalize : {"auto", "both", "per_sequence"} or None, default="auto"
        What the network does to each sequence first, as part of the model
        (``predict``, ``sklstm.save`` and ``export_onnx`` apply it; the
        choice is ``normalize_``). ``"per_sequence"``: it standardizes each
        sequence, feature by feature, by the mean and standard deviation of
        its own time steps (padding excluded), so that the LSTM and the
        convolutional block read its shape, whatever its level and scale (a
        feature constant within a sequence becomes zeros); the output layer
        also reads those means and log standard deviations, through a batch
        norm. ``"both"``: the LSTM and the block read each sequence as given
        and standardized so, side by side (twice the features); the steps
        as given are first standardized by the training data's mean and
        standard deviation of each feature (``input_mean_``,
        ``input_scale_``), which keeps their levels and brings any range to
        the LSTM's.
        ``"auto"``: ``"both"``, unless the training data is already
        standardized, then None: every sequence by itself (each feature's
        mean within 0.01 of 0 and standard deviation 0.85-1.05, as in the
        UCR archive), or each feature over all sequences (mean within 0.05
        of 0, standard deviation 0.9-1.1, as ``SequenceScaler`` leaves it).
        None: the inputs as given (scale features of different ranges
        beforehand, e.g. with ``SequenceScaler``). Measured in docs/accuracy.md and
        docs/regression.md: standardizing lifts series whose level hides
        their shape (PLAID, Tecator), and costs sequences whose levels
        carry the class (JapaneseVowels loses 0.08 to ``"per_sequence"``,
        0.01 to ``"both"``); for regression targets that depend on the shape
        ``"per_sequence"`` does best (Tecator: RMSE 0.61, 0.90 with
        ``"both"``).
    lstm_stride : int, default=1
        The LSTM reads the mean of each ``lstm_stride`` consecutive time
        steps (a last, partial window averages the steps it has; padding is
        never averaged in), while the convolutional block still reads every
        step. An LSTM runs one step after the other, so long sequences
        train and predict faster, at some cost in accuracy where the detail
        matters (OSULeaf, 427 steps: stride 4 fits in half the time, and
        loses 0.03 of accuracy; see docs/accuracy.md). 1: every step.
    bptt_window : int or None, default=128
        Truncated back-propagation through time: in training, the LSTM
        back-propagates through one window of ``bptt_window`` consecutive
        steps per batch (of those it reads, after ``lstm_stride``), drawn at
        random; it still reads every step, the steps outside the window
        without gradients. A training step costs about as much as on
        sequences ``bptt_window`` steps long plus a forward pass over the
        rest, and predictions are unchanged. No effect with
        ``pooling="last"`` or on sequences of at most ``bptt_window`` steps.
        None: every step. Measured in docs/accuracy.md (128: the accuracy
        suite's long series fit in 0.69 of every step's time, at a mean
        accuracy 0.007 higher; a training step on 1460 steps costs 0.47 of
        every step's).
    optimizer : {"adam", "adamw", "rmsprop", "sgd"} or torch.optim.Optimizer \
            subclass, default="adam"
        The optimizer; ``"sgd"`` uses momentum 0.9. Adam, AdamW and SGD
        take torch's fused step (``fused=True``) where torch has one for
        the device: the same update, about three times faster.
    lr : float, default=3e-3
        Learning rate (the peak of the schedule).
    lr_schedule : {"cosine", "plateau", "hold", "constant"}, default="hold"
        ``"hold"`` keeps ``lr`` until the convergence test of ``tol`` ends
        the fit; a fit that reaches the last tenth of ``max_epochs`` first
        (still learning, or with ``tol=None``) lowers it to 0 along a half
        cosine over that tenth. ``"constant"`` keeps ``lr`` throughout.
        ``"cosine"`` lowers it from ``lr`` to 0 along a half cosine, step
        by step, over the ``max_epochs`` of a ``fit`` (and over a tenth of
        them more once the convergence test fires): large steps early,
        fine ones at the end. ``"plateau"`` keeps ``lr`` until the
        convergence test fires (or a tenth of ``max_epochs`` is left), then
        lowers it to 0 along a half cosine over a tenth of ``max_epochs``.
        The classifier holds ``lr``: with its batch norms given the
        training data's statistics at the end of ``fit`` (see
        ``conv_channels``) and its last rounds' weights averaged (see
        ``tol``), a fit that has converged classifies as well without the
        anneal that the cosine adds after the convergence test.
        The regressor anneals along the cosine: its ``tol`` is None by
        default, so holding ``lr`` would not end its fits sooner.
        ``partial_fit`` always trains at ``lr``.
    weight_decay : float, default=0.0
        L2 penalty (decoupled for ``"adamw"``).
    batch_size : int, default=32
        Sequences per mini-batch in training.
    predict_batch_size : int or "auto", default="auto"
        Sequences per batch in ``predict``, ``predict_proba`` and ``score``
        (the same predictions, up to rounding). ``"auto"``: batches of about
        16,384 time steps (sequences times the longest length), from
        ``batch_size`` up to 256 sequences: the fastest on the CPU, at a
        bounded memory.
    max_epochs : int or "auto", default="auto"
        Number of passes over the training data (fewer once the convergence
        test of ``tol`` or early stopping ends the fit). ``"auto"``: 2000
        optimizer steps up to 20 batches per epoch (small training sets
        need many passes: 36 sequences of batch 32 get 1000 epochs), then
        steps that grow as the square root of the data (100 epochs of 640
        sequences, 25 of 10,000, 11 of 50,000).
    dtype : {"float32", "float64"}, default="float32"
        Floating-point type of the weights and computations. float64 is
        slower but rounds far less, e.g. for inputs of a large dynamic range.
    autocast : {"auto", "bfloat16"} or None, default="auto"
        Mixed precision: ``"bfloat16"`` runs the network's forward pass
        (training and prediction) under ``torch.autocast``, so that
        convolutions, LSTMs and matrix products compute in bfloat16 while
        the weights, the optimizer and the loss stay in float32. Faster
        where the hardware computes bfloat16 natively (CPUs with AMX or
        AVX512-BF16, recent GPUs), slower elsewhere; predictions round
        differently from float32 (see docs/accuracy.md). On CPUs without
        AVX-512, where oneDNN has no bfloat16 LSTM, the LSTM layers compute
        in float32. ``"auto"``: the training's forward pass in bfloat16 on
        a CPU that computes it natively, with ``dtype="float32"``, for
        sequences of 64 steps or more on average (shorter ones gain
        nothing), else float32 (GPUs included); predictions always in
        float32. The choice is ``autocast_``. ``"bfloat16"`` requires
        ``dtype="float32"``; ``export_onnx`` writes the float32 graph.
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
        Patience of early stopping (in epochs) and of the convergence test
        of ``tol`` (in rounds).
    tol : float or None, default=1e-3
        Convergence test: without early stopping, training stops once the
        training loss, averaged over rounds of at least 20 optimizer steps
        (one epoch, or several epochs of a small training set), has not
        fallen by ``tol`` below its best for ``n_iter_no_change`` rounds in
        a row, as in sklearn's ``MLPClassifier``, or once a round's loss is
        below ``n_iter_no_change * tol``, less than those rounds could gain
        (a loss is never negative). A fit that the test ends at a constant
        ``lr`` (``"hold"``, ``"constant"``) keeps the mean of its weights at
        the ends of the epochs of its last 3 rounds (of the later half of
        its rounds, if fewer than 6): the mean of weights that scatter
        around a minimum is nearer to it. None: train all ``max_epochs``.
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
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names, when fitted on a DataFrame with string column names.
    normalize_ : {"both", "per_sequence"} or None
        What the network does to each sequence first: ``normalize``, with
        ``"auto"`` decided on the training data.
    input_mean_ : ndarray of shape (n_step_features,) or None
        With ``normalize_="both"``, each feature's mean over every time step
        of the training data (as ``sample_weight`` weighs the sequences),
        which the network subtracts from the steps it reads as given; else
        None. ``n_step_features`` is ``n_features_in_``, or 1 for 2D input.
    input_scale_ : ndarray of shape (n_step_features,) or None
        Likewise each feature's standard deviation (1 for a constant
        feature), by which the network divides them.
    autocast_ : {"bfloat16"} or None
        What the training's forward pass computed in: ``autocast``, with
        ``"auto"`` decided for the machine of the fit.
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
    LSTMSequenceRegressor : The same network for real-valued targets.
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
    prediction whatever it is batched with; in training sets of more than 8
    batches, each training batch holds sequences of similar lengths (about
    0.6 of the padding of random batches on PLAID). The number of time
    steps may differ between ``fit`` and ``predict`` for 3D and list input. With
    ``data_format="channels_first"``, 3D arrays are ``(n_samples,
    n_features, n_timesteps)`` and sequences ``(n_features, n_timesteps_i)``
    (aeon's and sktime's layout); sktime's nested and pd-multiindex
    DataFrames are read by their type.

    On the CPU, ``fit`` (and predictions beyond one batch) flush
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
        **BaseLSTMSequence._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }
    _net_class = ClassifierNet

    def __init__(
        self,
        hidden_size=32,
        *,
        num_layers=1,
        bidirectional=True,
        dropout=0.0,
        pooling="mean_max",
        conv_channels=(32, 64, 32),
        data_format="channels_last",
        normalize="auto",
        lstm_stride=1,
        bptt_window=128,
        optimizer="adam",
        lr=3e-3,
        lr_schedule="hold",
        weight_decay=0.0,
        batch_size=32,
        predict_batch_size="auto",
        max_epochs="auto",
        dtype="float32",
        autocast="auto",
        gradient_clip=1.0,
        validation_fraction=None,
        early_stopping=False,
        n_iter_no_change=10,
        tol=1e-3,
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
        self.conv_channels = conv_channels
        self.data_format = data_format
        self.normalize = normalize
        self.lstm_stride = lstm_stride
        self.bptt_window = bptt_window
        self.optimizer = optimizer
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.predict_batch_size = predict_batch_size
        self.max_epochs = max_epochs
        self.dtype = dtype
        self.autocast = autocast
        self.gradient_clip = gradient_clip
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.class_weight = class_weight
        self.device = device
        self.callbacks = callbacks
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start

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
            X, y, sample_weight, continue_training=not first, incremental=True, classes=classes
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
        return torch.softmax(self._outputs(X), dim=1).numpy()

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

    # -- targets -------------------------------------------------------------

    def _check_y(self, y):
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return y

    def _n_outputs(self):
        return len(self.classes_)

    def _criterion(self):
        return torch.nn.CrossEntropyLoss, {}

    def _encode_targets(self, y, weight, classes, continue_training, dtype):
        """Return class codes and loss weights; set ``classes_`` on a new fit."""
        codes = self._encode(y, classes, continue_training)
        if self.class_weight is not None:
            try:
                per_class = compute_class_weight(self.class_weight, classes=self.classes_, y=y)
            except OverflowError as exc:  # e.g. an int beyond float64's range
                raise ValueError(
                    f"class_weight holds a weight that is not a float64 number ({exc}); "
                    "give each class a finite, non-negative float."
                ) from exc
            weight = per_class[codes] if weight is None else weight * per_class[codes]
        return codes, weight

    def _encode(self, y, classes, continue_training):
        """Return the class codes of ``y``, setting ``classes_`` on a new fit."""
        if continue_training:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={np.asarray(classes).tolist()} differ from the classes "
                    f"of the earlier fit, {self.classes_.tolist()}."
                )
            known = self.classes_
        else:
            known = np.unique(y if classes is None else np.asarray(classes))
            if len(known) < 2:
                where = "y" if classes is None else "classes"
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 classes, but {where} "
                    f"contains only one class: {known.tolist()[0]!r}."
                )
        new = np.setdiff1d(y, known)
        if new.size:
            raise ValueError(
                f"y contains labels {new.tolist()} that are not among the classes "
                f"{known.tolist()}; {self._how_to_add_classes(continue_training)}"
            )
        if not continue_training:
            self.classes_ = known
        return np.searchsorted(known, y).astype(np.int64)

    def _how_to_add_classes(self, continue_training):
        if continue_training and self.warm_start:
            return "set warm_start=False to train a new model on them."
        return "pass all classes in `classes` on the first call to partial_fit."
