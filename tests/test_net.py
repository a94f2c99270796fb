"""The training loop: the loss, the callbacks it calls, the equivalence with skorch's own loop."""

import numpy as np
import pytest
import skorch.net
import torch
from _tasks import targets
from sklearn.base import clone
from skorch import NeuralNet
from skorch.callbacks import Callback, LRScheduler
from torch import nn

from sklstm import LSTMSequenceClassifier
from sklstm._data import Targets, check_sequences
from sklstm._module import LSTMNet
from sklstm._net import ClassifierNet

# -- loss and training loop ----------------------------------------------------


@pytest.mark.parametrize("criterion_params", [{}, {"criterion__label_smoothing": 0.2}])
def test_unweighted_loss_equals_the_weighted_loss_with_equal_weights(criterion_params):
    # The weighted path uses the criterion's own parameters too.
    net = ClassifierNet(
        LSTMNet, criterion=nn.CrossEntropyLoss, module__n_features=2, module__n_outputs=3,
        **criterion_params,
    ).initialize()
    logits = torch.randn(7, 3, requires_grad=True)
    y = torch.tensor([0, 1, 2, 2, 1, 0, 0])
    fast = net.get_loss(logits, Targets(y, None))
    weighted = net.get_loss(logits, Targets(y, torch.full((7,), 2.5)))
    torch.testing.assert_close(fast, weighted)
    (grad_fast,) = torch.autograd.grad(fast, logits)
    (grad_weighted,) = torch.autograd.grad(weighted, logits)
    torch.testing.assert_close(grad_fast, grad_weighted)


def test_uniform_sample_weight_takes_the_unweighted_path_with_the_same_fit(seq3d):
    X, y = seq3d
    params = dict(hidden_size=6, max_epochs=3, random_state=0, dtype="float64")
    plain = LSTMSequenceClassifier(**params).fit(X, y)
    weighted = LSTMSequenceClassifier(**params).fit(X, y, sample_weight=np.full(len(y), 3.0))
    np.testing.assert_allclose(plain.predict_proba(X), weighted.predict_proba(X), atol=1e-12)
    # A weight that varies changes the fit: the weighted path is really taken.
    varied = LSTMSequenceClassifier(**params).fit(X, y, sample_weight=1.0 + (y == 1))
    assert not np.allclose(plain.predict_proba(X), varied.predict_proba(X))


class BatchWeights(Callback):
    """Records the dtype of each training batch's loss weights (None: unweighted)."""

    def initialize(self):
        self.seen_ = set()
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            weight = batch[1].weight
            self.seen_.add(None if weight is None else weight.dtype)


def _weight_dtypes(estimator):
    return dict(estimator.net_.callbacks_)["weights"].seen_


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_loss_weights_are_decided_once_in_the_network_dtype(seq3d, Estimator, dtype):
    X, labels = seq3d
    y = targets(Estimator, labels)
    kinds = {
        "none": ({}, {None}),
        "uniform": (dict(sample_weight=np.full(len(y), 0.5)), {None}),
        "varied": (dict(sample_weight=np.linspace(0.5, 2.0, len(y))), {getattr(torch, dtype)}),
    }
    for kind, (fit_params, expected) in kinds.items():
        est = Estimator(
            hidden_size=4, max_epochs=1, dtype=dtype, callbacks=[("weights", BatchWeights())]
        ).fit(X, y, **fit_params)
        assert _weight_dtypes(est) == expected, kind


def test_class_weight_alone_weighs_the_loss_in_the_network_dtype(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(
        hidden_size=4, max_epochs=1, dtype="float64", class_weight={0: 1.0, 1: 3.0},
        callbacks=[("weights", BatchWeights())],
    ).fit(X, y)
    assert _weight_dtypes(clf) == {torch.float64}


class Seen(Callback):
    def __init__(self, calls):
        self.calls = calls

    def on_batch_end(self, net, **kwargs):
        self.calls.append(self)


def test_only_handling_callbacks_are_notified_and_the_list_is_followed():
    net = ClassifierNet(
        LSTMNet, criterion=nn.CrossEntropyLoss, module__n_features=2, module__n_outputs=2,
        verbose=0,
    ).initialize()
    calls = []
    first = Seen(calls)
    net.notify("on_batch_end", batch=None, training=True)
    net.callbacks_.append(("first", first))  # a list changed in place
    net.notify("on_batch_end", batch=None, training=True)
    assert calls == [first]
    second = Seen(calls)
    net.set_params(callbacks=[("second", second)]).initialize()  # a new list
    net.notify("on_batch_end", batch=None, training=True)
    assert calls == [first, second]
    assert [h.__self__ for h in net._handlers("on_batch_end")] == [
        dict(net.callbacks_)["valid_acc"], second
    ]  # the net's and the other callbacks' no-ops are skipped


class MarkBatch(Callback):
    """Writes into each batch's history row as the batch begins."""

    def on_batch_begin(self, net, training=False, **kwargs):
        net.history.record_batch("began_training", training)


class SkorchLoopNet(ClassifierNet):
    """ClassifierNet with skorch's own loop: every callback notified, mode set per batch."""

    notify = NeuralNet.notify
    train_step = NeuralNet.train_step
    run_single_epoch = NeuralNet.run_single_epoch
    train_step_single = NeuralNet.train_step_single
    validation_step = NeuralNet.validation_step


@pytest.mark.parametrize("schedule", [
    dict(lr_schedule="constant", callbacks=[LRScheduler("StepLR", step_size=1), ("mark", MarkBatch())]),
    dict(lr_schedule="cosine", callbacks=[("mark", MarkBatch())]),
], ids=["own-scheduler", "cosine"])
def test_lean_training_loop_matches_skorch_loop(ragged, monkeypatch, schedule):
    X, y = ragged
    params = dict(
        hidden_size=6, dropout=0.3, validation_fraction=0.25, max_epochs=3,
        batch_size=8, gradient_clip=0.5, random_state=0, **schedule,
    )
    lean = LSTMSequenceClassifier(**params).fit(X, y)
    # skorch counts a batch with get_len(X); our X holds lengths=None.
    monkeypatch.setattr(skorch.net, "get_len", lambda data: len(data["x"]))
    monkeypatch.setattr(LSTMSequenceClassifier, "_net_class", SkorchLoopNet)
    reference = LSTMSequenceClassifier(**params).fit(X, y)
    assert type(reference.net_) is SkorchLoopNet
    for key in ("train_loss", "valid_loss", "valid_acc"):
        assert lean.history_[:, key] == reference.history_[:, key]
    # Batch rows: the same entries, in the same order, the callback's included.
    rows = lean.history_[:, "batches"]
    assert rows == reference.history_[:, "batches"]
    epoch = lean.history_[0]
    n_train, n_valid = epoch["train_batch_count"], epoch["valid_batch_count"]
    assert [list(row) for row in rows[0]] == (
        [["began_training", "train_loss", "train_batch_size"]] * n_train
        + [["began_training", "valid_loss", "valid_batch_size"]] * n_valid
    )
    assert [row["began_training"] for row in rows[0]] == [True] * n_train + [False] * n_valid
    _, data = check_sequences(reference, X, reset=False, layout="sequences")
    skorch_logits = reference.net_.forward(data)  # skorch's own prediction loop
    np.testing.assert_allclose(lean.net_.logits(data, lean.batch_size), skorch_logits, rtol=0, atol=1e-6)


class GradientCounter(Callback):
    def initialize(self):
        self.calls_ = 0
        return self

    def on_grad_computed(self, net, **kwargs):
        self.calls_ += 1


@pytest.mark.parametrize("optimizer, per_step", [("adam", 1), (torch.optim.LBFGS, 2)])
def test_only_optimizers_that_evaluate_the_loss_again_get_a_closure(seq3d, optimizer, per_step):
    """Adam steps once per batch without a closure; LBFGS still calls its closure often."""
    X, y = seq3d
    clf = LSTMSequenceClassifier(
        hidden_size=4, conv_channels=None, lr=0.1, lr_schedule="constant", max_epochs=2,
        batch_size=16, optimizer=optimizer, callbacks=[("count", GradientCounter())],
        random_state=0,
    ).fit(X, y)
    batches = sum(clf.history_[:, "train_batch_count"])
    calls = dict(clf.net_.callbacks_)["count"].calls_
    assert calls == batches if per_step == 1 else calls >= per_step * batches
    assert np.isfinite(clf.history_[:, "train_loss"]).all()
    with torch.no_grad():  # a fit trains with gradients, whatever the caller's mode
        again = clone(clf).fit(X, y)
    assert again.history_[:, "train_loss"] == clf.history_[:, "train_loss"]
