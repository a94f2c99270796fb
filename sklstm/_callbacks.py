"""The skorch callbacks sklstm adds to its nets."""

import collections
import math

import numpy as np
import torch
from skorch.callbacks import Callback

from ._data import Targets


class ValidAccuracy(Callback):
    """Record the accuracy on the validation split as ``valid_acc``."""

    def on_epoch_begin(self, net, **kwargs):
        self.correct_, self.total_ = 0, 0

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if not training:
            _, targets = batch
            y_true = targets.y
            self.correct_ += int((y_pred.argmax(dim=1).cpu() == y_true).sum())
            self.total_ += len(y_true)

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is not None and self.total_:
            net.history.record("valid_acc", self.correct_ / self.total_)


class CosineLR(Callback):
    """Anneal the learning rate along a half cosine, from lr to 0, batch by batch.

    The schedule spans ``max_epochs`` epochs of the training set passed to
    ``on_train_begin``; ``shorten`` ends it sooner (the convergence test),
    and early stopping may stop it anywhere. With ``hold`` (a fraction of
    ``max_epochs``), the lr stays at lr until ``shorten`` is called, or
    until ``hold`` of the epochs are left, and then goes to 0 along a half
    cosine over those. With ``stop`` as well, the convergence test ends a
    fit still at lr at once instead of shortening the schedule: only a fit
    that reaches the last ``hold`` of its epochs anneals.
    """

    def __init__(self, hold=None, stop=False):
        self.hold = hold
        self.stop = stop

    def on_train_begin(self, net, X=None, **kwargs):
        self.batches_ = -(-len(X) // net.batch_size)
        self.total_steps_ = max(1, net.max_epochs * self.batches_)
        self.step_ = 0
        self.tail_ = None  # (first step, steps, factor at its start) once shortened
        self.base_lrs_ = [group["lr"] for group in net.optimizer_.param_groups]
        self.anneal_from_ = None
        if self.hold is not None:
            self.anneal_epochs_ = min(net.max_epochs, math.ceil(self.hold * net.max_epochs))
            self.anneal_from_ = self.total_steps_ - self.anneal_epochs_ * self.batches_

    def _factor(self):
        if self.tail_ is None and self.anneal_from_ is not None:
            if self.step_ < self.anneal_from_:
                return 1.0
            self.shorten(self.anneal_epochs_, start=1.0)
        if self.tail_ is None:
            return 0.5 * (1.0 + math.cos(math.pi * min(self.step_ / self.total_steps_, 1.0)))
        first, steps, start = self.tail_
        return start * 0.5 * (1.0 + math.cos(math.pi * min((self.step_ - first) / steps, 1.0)))

    def shorten(self, epochs, start=None):
        """Anneal to 0 along a half cosine over ``epochs`` more epochs.

        From the current lr, or from ``start`` times the base lr.
        """
        start = self._factor() if start is None else start
        self.tail_ = (self.step_, max(1, epochs * self.batches_), start)

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        factor = self._factor()
        for group, base in zip(net.optimizer_.param_groups, self.base_lrs_):
            group["lr"] = base * factor
        self.step_ += 1

    def on_epoch_end(self, net, **kwargs):
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])


class Converged(Callback):
    """End training once the training loss has stopped improving.

    The training loss is averaged over rounds of whole epochs, each at least
    ``round_steps`` optimizer steps (one epoch of a large training set,
    several of a small one, whose epochs of one or two batches are noisy).
    After ``patience`` rounds in a row whose loss is not below the best so
    far by ``tol``, the fit has converged at the current learning rate; so
    has it once a round's loss is below ``patience * tol``: a loss is never
    negative, so less is left to gain than ``patience`` rounds that each
    improve it by ``tol`` would give (a classifier that fits its training
    data would spend most of that time growing its margins). With
    the cosine schedule (the callback named ``"lr_schedule"``), the lr then
    goes to 0 along a half cosine over a tenth of ``max_epochs`` (the small
    final steps of the full schedule, sooner) and training stops there;
    without it, or with a schedule that stops a fit still at its lr
    (``CosineLR.stop``), training stops at once, as skorch's
    ``EarlyStopping`` does, and the model takes the mean of the weights at
    the ends of the epochs of the last ``AVERAGE`` rounds (of the later
    half of the rounds, in a fit of fewer than twice as many): weights
    taken at a constant lr scatter around the minimum they approach, and
    their mean is nearer to it, as the anneal's small final steps would
    bring them (``averaged_rounds_`` says over how many rounds).
    """

    TAIL = 0.1  # of max_epochs: the anneal once converged
    AVERAGE = 3  # rounds: the weights of a fit stopped at once

    def __init__(self, tol, patience, round_steps=20, tail=TAIL):
        self.tol = tol
        self.patience = patience
        self.round_steps = round_steps
        self.tail = tail

    def on_train_begin(self, net, X=None, **kwargs):
        batches = -(-len(X) // net.batch_size)
        self.epochs_per_round_ = -(-self.round_steps // batches)
        self.best_, self.misses_, self.losses_ = math.inf, 0, []
        # Epochs of this fit (a warm start's history holds earlier ones too),
        # and the one that ends it, once converged.
        self.epoch_, self.stop_at_ = 0, None
        # Sums of the epoch-end weights: this round's, and (sum, epochs) of the last rounds'.
        self.sum_, self.sums_ = None, collections.deque(maxlen=self.AVERAGE)
        self.averaged_rounds_ = 0

    def on_epoch_end(self, net, **kwargs):
        self.epoch_ += 1
        if self.stop_at_ is not None:
            if self.epoch_ >= self.stop_at_:
                raise KeyboardInterrupt
            return
        self.losses_.append(net.history[-1, "train_loss"])
        self._add_weights(net)
        if len(self.losses_) < self.epochs_per_round_:
            return
        loss = math.fsum(self.losses_) / len(self.losses_)  # epochs of equal size
        self.sums_.append((self.sum_, len(self.losses_)))
        self.sum_, self.losses_ = None, []
        if loss < self.best_ - self.tol:
            self.best_, self.misses_ = loss, 0
        else:
            self.misses_ += 1
        spent = loss < self.patience * self.tol
        if self.misses_ < self.patience and not spent:
            return
        schedule = dict(net.callbacks_).get("lr_schedule")
        if not isinstance(schedule, CosineLR):
            schedule = None  # none of sklstm's (a user's own may take the name)
        if schedule is None or (schedule.stop and schedule.tail_ is None):
            tail = 0
        else:
            tail = math.ceil(self.tail * net.max_epochs)
        if self.epoch_ + tail >= net.max_epochs:
            self.stop_at_ = net.max_epochs  # the schedule ends as soon
            return
        if not tail:
            self._average_weights(net)
        if net.verbose:
            if spent:
                why = f"{loss:.3g} is below n_iter_no_change * tol"
            else:
                why = (
                    f"did not improve by tol={self.tol:g} in {self.patience} rounds "
                    f"of {self.epochs_per_round_} epoch(s)"
                )
            if tail:
                then = f"annealing the lr to 0 over {tail} more epoch(s)."
            elif self.averaged_rounds_:
                then = f"stopping with the mean weights of the last {self.averaged_rounds_} round(s)."
            else:
                then = "stopping."
            print(f"Converged: the training loss {why}; {then}")
        self.stop_at_ = self.epoch_ + tail
        if tail:
            schedule.shorten(tail)
        else:
            raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs):
        self.sum_ = None  # the sums are four copies of the weights: not kept with the model
        self.sums_.clear()

    def _add_weights(self, net):
        """Add the module's floating-point weights and buffers to this round's sum."""
        state = net.module_.state_dict()
        if self.sum_ is None:
            self.sum_ = {
                key: value.detach().clone() for key, value in state.items()
                if value.is_floating_point()
            }
        else:
            for key, total in self.sum_.items():
                total.add_(state[key])

    def _average_weights(self, net):
        """Give the module the mean weights of the last rounds (the later half, at most)."""
        # Called at the end of a round: the fit's rounds so far are whole.
        rounds = min(len(self.sums_), self.epoch_ // self.epochs_per_round_ // 2)
        self.averaged_rounds_ = rounds
        if not rounds:
            return
        recent = list(self.sums_)[-rounds:]
        epochs = sum(count for _, count in recent)
        state = net.module_.state_dict()  # tensors that share the module's storage
        with torch.no_grad():
            for key in recent[0][0]:
                state[key].copy_(sum(sums[key] for sums, _ in recent) / epochs)


class SignalProbe(Callback):
    """Run the first, early-stopped fit of ``early_stopping="auto"``.

    The output layer starts at zeros: the network predicts the training
    mean (standardized targets) until it learns otherwise, so that a fit
    stopped within a few epochs stays near it. From epoch ``start`` on,
    when the best validation loss so far is at most ``ratio`` times the
    mean's (the loss of predicting zeros on ``valid``) and came in the
    later half of the epochs so far (the model is still learning), training
    stops with ``refit_`` set, and the estimator fits again on all the data.

    Otherwise the fit's model is the average of its weights over the epochs
    up to ``average`` either side of the best one (``averaged_``, once
    training has ended): the best epoch of a small validation split is
    partly chance, and the average of its neighbours varies less. Only
    those ``2 * average + 1`` epochs' weights are kept, on the CPU.
    """

    def __init__(self, valid, start, ratio=0.5, average=0):
        self.valid = valid
        self.start = start
        self.ratio = ratio
        self.average = average

    def on_train_begin(self, net, **kwargs):
        self.refit_ = False
        self.averaged_ = None
        self.recent_ = collections.deque(maxlen=2 * self.average + 1)
        with torch.no_grad():
            net.module_.head.weight.zero_()
            net.module_.head.bias.zero_()
            rows = np.arange(len(self.valid)) if self.valid.index is None else self.valid.index
            y = torch.from_numpy(self.valid.y[rows])
            weight = self.valid.weight
            weight = None if weight is None else torch.from_numpy(weight[rows])
            zeros = torch.zeros(y.shape, dtype=y.dtype, device=net.device)
            self.baseline_ = float(net.get_loss(zeros, Targets(y, weight)))

    def on_epoch_end(self, net, **kwargs):
        losses = net.history[:, "valid_loss"]
        best = _first_minimum(losses)
        self.recent_.append(
            {key: value.detach().to("cpu", copy=True) for key, value in net.module_.state_dict().items()}
        )
        if len(losses) - 1 == best + self.average:
            self._average(best, len(losses) - 1)
        if len(losses) < self.start:
            return
        if losses[best] <= self.ratio * self.baseline_ and 2 * (best + 1) > len(losses):
            if net.verbose:
                print(
                    f"The validation loss is {losses[best] / self.baseline_:.3g} of the "
                    "mean's and still falling: fitting again on all the data."
                )
            self.refit_ = True
            raise KeyboardInterrupt

    def on_train_end(self, net, **kwargs):
        try:
            losses = net.history[:, "valid_loss"]
        except KeyError:  # interrupted within the first epoch
            losses = []
        if losses and not self.refit_:
            best = _first_minimum(losses)
            if len(losses) - 1 < best + self.average:  # ended within ``average`` of the best
                self._average(best, len(losses) - 1)
        self.recent_ = None

    def _average(self, best, last):
        """``averaged_``: the mean of the kept weights of epochs ``best - average`` to ``last``."""
        # recent_ holds the weights of the epochs up to ``last``, the latest one.
        epochs = last - max(0, best - self.average) + 1
        states = list(self.recent_)[-epochs:]
        self.averaged_ = {
            key: (
                torch.stack([state[key].double() for state in states]).mean(0).to(value.dtype)
                if value.is_floating_point()
                else states[best - last - 1][key]
            )
            for key, value in states[-1].items()
        }


def _first_minimum(losses):
    """The index of the first of the smallest ``losses`` (EarlyStopping's best epoch)."""
    return min(range(len(losses)), key=losses.__getitem__)
