"""The skorch layer: a NeuralNet that trains ``LSTMNet`` on ``Sequences``."""

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochTimer, PassthroughScoring, PrintLog


class ValidAccuracy(Callback):
    """Record the accuracy on the validation split as ``valid_acc``."""

    def on_epoch_begin(self, net, **kwargs):
        self.correct_, self.total_ = 0, 0

    def on_batch_end(self, net, batch=None, training=False, y_pred=None, **kwargs):
        if not training:
            y_true = batch[1][0]
            self.correct_ += int((y_pred.argmax(dim=1).cpu() == y_true).sum())
            self.total_ += len(y_true)

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is not None and self.total_:
            net.history.record("valid_acc", self.correct_ / self.total_)


class SequenceNet(NeuralNet):
    """NeuralNet whose batches are ``({"x", "lengths"}, (y, weight))``.

    ``lengths`` stays on the CPU (``pack_padded_sequence`` wants it there);
    the loss is the weighted mean of the per-sample losses.
    """

    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            ("valid_acc", ValidAccuracy()),
            ("print_log", PrintLog()),
        ]

    def infer(self, x, **fit_params):
        return self.module_(x["x"].to(self.device), x["lengths"])

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y, weight = (t.to(self.device) for t in y_true)
        losses = self.criterion_(y_pred, y)
        return (losses * weight).sum() / weight.sum().clamp_min(torch.finfo(weight.dtype).tiny)
