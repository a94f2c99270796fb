"""The skorch layer: a NeuralNet that trains ``LSTMNet`` on ``Sequences``.

skorch's loop is kept (callbacks, history, closures for the optimizer), with
work removed that a hand-written loop would not do: the training mode is set
only when it changes rather than for every batch, callbacks are called only
for the events they handle, the loss is a plain mean when no sample weights
are given, and the epoch table is only built when printed.

To do so this module overrides skorch's ``NeuralNet.notify``,
``train_step``, ``train_step_single``, ``validation_step``,
``run_single_epoch``, ``infer``, ``get_loss`` and ``initialize_module``, and
uses these names of skorch that are not its public API: ``_optimizers``,
``_step_optimizer``, ``_zero_grad_optimizer``, ``_default_callbacks``,
``callbacks_``, the history's per-epoch ``"batches"`` rows, and the no-op
event methods of ``NeuralNet`` and ``Callback``. ``tests/test_net.py``
pins them: a fit with skorch's own loop gives the same history and weights.
"""

import math

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import (
    Callback,
    EpochTimer,
    GradientNormClipping,
    PassthroughScoring,
    PrintLog,
)
from skorch.utils import TeeGenerator

from ._callbacks import ValidAccuracy
from ._cpu import rebalance_threads
from ._data import BatchIterator
from ._distributed import sum_gradients, sum_value
from ._optimizers import OPTIMIZERS

# The most sequences ``set_population_statistics`` reads (Wu and Johnson
# find batch norm's population statistics settled at about 10,000 samples).
POPULATION_SEQUENCES = 10_000


class TrainingDivergedError(ValueError, FloatingPointError):
    """A loss or weight became NaN or infinite during training."""


class SequenceNet(NeuralNet):
    """NeuralNet whose batches are ``({"x", "lengths"}, Targets(y, weight))``, for any task.

    ``lengths`` is None when all sequences of the batch are equally long,
    else a CPU int64 tensor (the module moves it with the batch).
    ``weight`` is None for an unweighted loss, the mean over the batch,
    else the loss is the weighted mean of the per-sample losses. The task's
    net (``ClassifierNet``, ``RegressorNet``) says how its criterion gives
    both.
    """

    @property
    def _default_callbacks(self):
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
        ]
        if self.verbose:  # PrintLog formats its table even when silent
            callbacks.append(("print_log", PrintLog()))
        return callbacks

    def notify(self, method_name, **cb_kwargs):
        # skorch calls every callback's method, for every batch; most are
        # the base class's no-ops. Call only the others.
        for handler in self._handlers(method_name):
            handler(self, **cb_kwargs)

    def _handlers(self, method_name):
        callbacks = self.callbacks_
        cached = self.__dict__.get("_handler_cache")
        if cached is None or cached[0] is not callbacks or cached[1] != len(callbacks):
            # New callbacks (initialize, set_params) or a list changed in place.
            cached = self.__dict__["_handler_cache"] = (callbacks, len(callbacks), {})
        handlers = cached[2]
        if method_name not in handlers:
            owners = [self, *(cb for _, cb in callbacks)]
            handlers[method_name] = [
                getattr(owner, method_name) for owner in owners
                if not _is_noop(owner, method_name)
            ]
        return handlers[method_name]

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_handler_cache", None)  # bound methods: rebuilt when needed
        return state

    def initialize_module(self):
        try:
            return super().initialize_module()
        except (RuntimeError, MemoryError, OverflowError, TypeError) as exc:
            # torch's allocation failures and size overflows, as an input error.
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(
                f"Cannot build the network: {reason}. Its layers (hidden_size, "
                "conv_channels, features and outputs) are too large for this "
                "machine; choose smaller sizes."
            ) from exc

    def train_step(self, batch, **fit_params):
        # skorch's, without the step accumulator and, when no callback
        # listens, without announcing the gradients. Optimizers that never
        # call a closure more than once (Adam, SGD, ...) get none: the
        # hand-written zero_grad / backward / step.
        if type(self.optimizer_) in _CLOSURE_FREE and self._optimizers == ["optimizer"]:
            self.optimizer_.zero_grad()
            with torch.enable_grad():  # as the optimizer runs a closure
                step = self._single_step_with_gradients(batch, **fit_params)
            self.optimizer_.step()
            return step
        steps = []

        def closure():
            self._zero_grad_optimizer()
            steps.append(self._single_step_with_gradients(batch, **fit_params))
            return steps[-1]["loss"]

        self._step_optimizer(closure)
        return steps[0]  # the first, as skorch's (LBFGS evaluates several)

    def _single_step_with_gradients(self, batch, **fit_params):
        step = self.train_step_single(batch, **fit_params)
        if self._handlers("on_grad_computed"):
            self.notify(
                "on_grad_computed",
                named_parameters=TeeGenerator(self.get_all_learnable_params()),
                batch=batch,
                training=True,
            )
        return step

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        rebalance_threads()  # other fits in this process may have started or ended
        # What notify("on_batch_begin"/"on_batch_end") and History.new_batch
        # / record_batch do for each batch, with the handlers and the
        # epoch's list of batch rows looked up once per epoch.
        rows = self.history[-1]["batches"]
        handlers = self._handlers("on_batch_begin")
        begin = [
            handler for handler in handlers
            if getattr(handler, "__func__", None) is not NeuralNet.on_batch_begin
        ]
        new_row = len(begin) < len(handlers)
        end = self._handlers("on_batch_end")
        loss_key, size_key = prefix + "_loss", prefix + "_batch_size"
        batch_count = 0
        for batch in iterator:
            if new_row:  # NeuralNet.on_batch_begin
                rows.append({})
            for handler in begin:
                handler(self, batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            row = rows[-1]
            row[loss_key] = loss = step["loss"].item()
            row[size_key] = batch[0].get("size", len(batch[0]["x"]))
            if not math.isfinite(loss):
                raise self._diverged(f"the {prefix} loss became {loss}")
            for handler in end:
                handler(self, batch=batch, training=training, **step)
            batch_count += 1
        if training and not _all_finite(self.module_.parameters()):
            raise self._diverged("a weight became NaN or infinite")
        self.history.record(prefix + "_batch_count", batch_count)

    def _diverged(self, what):
        clipping = any(isinstance(cb, GradientNormClipping) for _, cb in self.callbacks_)
        remedies = [f"a lower lr (now {self.lr:g})"]
        if not clipping:
            remedies.append("gradient clipping (e.g. gradient_clip=1.0)")
        remedies.append("inputs scaled to unit variance (e.g. SequenceScaler in a Pipeline)")
        return TrainingDivergedError(
            f"Training diverged in epoch {len(self.history)}: {what}. The model "
            f"is not kept. Try {', '.join(remedies)}."
        )

    def train_step_single(self, batch, **fit_params):
        X, y = batch
        self._ensure_mode(training=True)
        y_pred = self.infer(X, sample_weight=y.weight)  # batch norm weighs samples too
        loss = self.get_loss(y_pred, y, X=X, training=True)
        group = self.__dict__.get("process_group_")
        if group is None:
            loss.backward()
            return {"loss": loss, "y_pred": y_pred}
        # Data-parallel: this rank's part of the batch's loss; the gradients
        # and the loss of the whole batch are sums over the ranks.
        (loss * X["share"]).backward()
        sum_gradients(group, self.module_.parameters())
        return {"loss": sum_value(group, loss.detach() * X["share"]), "y_pred": y_pred}

    def validation_step(self, batch, **fit_params):
        X, y = batch
        self._ensure_mode(training=False)
        with torch.no_grad():
            y_pred = self.infer(X)
            loss = self.get_loss(y_pred, y, X=X, training=False)
        return {"loss": loss, "y_pred": y_pred}

    def logits(self, dataset, batch_size):
        """Return the module's outputs for all of ``dataset``, in batches of ``batch_size``.

        What ``forward`` does, without skorch's per-batch dataset and
        device handling: eval mode once, no autograd, one list of outputs.
        Ragged sequences are batched by length (less padding) and the
        outputs put back in the order of ``dataset``.
        """
        self._ensure_mode(training=False)
        dataset, order = dataset.sorted_by_length()
        with torch.inference_mode():
            outputs = [
                self.infer(X) for X, _ in BatchIterator(dataset, batch_size)
            ]
            logits = outputs[0] if len(outputs) == 1 else torch.cat(outputs)
            if order is not None:
                logits = torch.empty_like(logits).index_copy_(
                    0, torch.from_numpy(order).to(logits.device), logits
                )
        return logits

    def set_population_statistics(self, dataset, batch_size):
        """Give the module's batch norms the statistics of ``dataset`` (see ``LSTMNet``).

        At most ``POPULATION_SEQUENCES`` sequences, evenly spaced through
        ``dataset``, are read: statistics of that many are as good as of
        all, and a large data set on disk is not read whole once more.
        """
        if len(dataset) > POPULATION_SEQUENCES:
            dataset = dataset.subset(
                np.linspace(0, len(dataset) - 1, POPULATION_SEQUENCES).round().astype(np.int64)
            )
        dataset, _ = dataset.sorted_by_length()  # less padding to read

        def batches():
            for X, targets in BatchIterator(dataset, batch_size):
                weight = None if targets is None else targets.weight
                yield (
                    self._to_device(X["x"]), X["lengths"],
                    None if weight is None else self._to_device(weight),
                )

        self.module_.set_population_statistics(batches)

    def _ensure_mode(self, training):
        # skorch calls module.train() for every batch, which walks all
        # submodules; it is only needed when the mode is not already set.
        if self.module_.training is not training:
            self._set_training(training)

    def _to_device(self, tensor):
        return tensor if self.device == "cpu" else tensor.to(self.device)

    def infer(self, x, sample_weight=None, **fit_params):
        return self.module_(self._to_device(x["x"]), x["lengths"], sample_weight)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y, weight = self._to_device(y_true.y), y_true.weight
        if weight is None:
            return self._mean_loss(y_pred, y)
        weight = self._to_device(weight)
        losses = self._sample_losses(y_pred, y)
        return (losses * weight).sum() / weight.sum().clamp_min(torch.finfo(weight.dtype).tiny)

    def _mean_loss(self, y_pred, y):
        """The criterion's loss, averaged over the batch."""
        raise NotImplementedError

    def _sample_losses(self, y_pred, y):
        """The criterion's loss of each sample of the batch."""
        raise NotImplementedError


class ClassifierNet(SequenceNet):
    """SequenceNet for class codes; records the validation accuracy.

    The criterion (cross-entropy) gives the batch mean directly; a copy of
    it with the same parameters and ``reduction="none"`` gives the
    per-sample losses of a weighted batch.
    """

    @property
    def _default_callbacks(self):
        return [*super()._default_callbacks, ("valid_acc", ValidAccuracy())]

    def initialize_criterion(self):
        super().initialize_criterion()
        params = {**self.get_params_for("criterion"), "reduction": "none"}
        self.sample_criterion_ = self.criterion(**params)
        return self

    def _mean_loss(self, y_pred, y):
        return self.criterion_(y_pred, y)  # the fused mean

    def _sample_losses(self, y_pred, y):
        return self.sample_criterion_(y_pred, y)


class RegressorNet(SequenceNet):
    """SequenceNet for real-valued targets of shape ``(batch, n_outputs)``.

    The criterion computes elementwise losses (``reduction="none"``); a
    sample's loss is their mean over the outputs.
    """

    def _mean_loss(self, y_pred, y):
        return self.criterion_(y_pred, y).mean()

    def _sample_losses(self, y_pred, y):
        return self.criterion_(y_pred, y).mean(dim=1)


# Optimizers that call a step's closure at most once, so that the step
# needs none (LBFGS calls it several times).
_CLOSURE_FREE = frozenset(OPTIMIZERS.values())

# NeuralNet's event methods that do nothing (the others keep the history).
_NET_NOOPS = {"on_train_begin", "on_train_end", "on_epoch_end", "on_batch_end", "on_grad_computed"}


def _is_noop(owner, method_name):
    """Whether ``owner``'s method for an event is its base class's no-op."""
    if method_name in vars(owner):  # set on the instance
        return False
    base = NeuralNet if isinstance(owner, NeuralNet) else Callback
    if base is NeuralNet and method_name not in _NET_NOOPS:
        return False
    return getattr(type(owner), method_name) is getattr(base, method_name)


def _all_finite(tensors):
    """Whether every element of ``tensors`` is finite, in one pass.

    ``x * 0`` is 0 for a finite ``x`` and NaN for an infinite or NaN one,
    so one sum over all the tensors answers. Testing each tensor with
    ``isfinite`` took three passes and a synchronisation per tensor: on
    training sets of one batch an epoch, 6-8% of each step.
    """
    flat = [t.detach().reshape(-1) for t in tensors]
    return not flat or bool(torch.cat(flat).mul_(0).sum() == 0)
