"""The skorch callbacks sklstm adds to its nets."""

import math

from skorch.callbacks import Callback


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
    ``on_train_begin``; early stopping may end it sooner.
    """

    def on_train_begin(self, net, X=None, **kwargs):
        batches = -(-len(X) // net.batch_size)
        self.total_steps_ = max(1, net.max_epochs * batches)
        self.step_ = 0
        self.base_lrs_ = [group["lr"] for group in net.optimizer_.param_groups]

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        factor = 0.5 * (1.0 + math.cos(math.pi * min(self.step_ / self.total_steps_, 1.0)))
        for group, base in zip(net.optimizer_.param_groups, self.base_lrs_):
            group["lr"] = base * factor
        self.step_ += 1

    def on_epoch_end(self, net, **kwargs):
        net.history.record("lr", net.optimizer_.param_groups[0]["lr"])
