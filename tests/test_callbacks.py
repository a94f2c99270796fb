"""The callbacks sklstm adds to its nets."""

import math
import warnings

import numpy as np
import pytest
import torch
from _tasks import ESTIMATORS, targets
from skorch.callbacks import Callback, LRScheduler

from sklstm import LSTMSequenceClassifier


class KeepValid(Callback):
    """Keeps the validation split, and the logits of the model each epoch scored it with."""

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        self.valid_ = dataset_valid
        self.logits_ = net.logits(dataset_valid, 8)  # before fit's final batch norm statistics


def test_valid_acc_is_the_accuracy_on_the_validation_split(ragged):
    X, y = ragged
    clf = LSTMSequenceClassifier(
        hidden_size=8, max_epochs=3, validation_fraction=0.25, random_state=0,
        callbacks=[("keep", KeepValid())],
    ).fit(X, y)
    keep = dict(clf.net_.callbacks_)["keep"]
    valid = keep.valid_
    predicted = keep.logits_.argmax(dim=1).numpy()
    expected = np.mean(predicted == valid.y[valid.index])
    assert clf.history_[-1, "valid_acc"] == expected
    assert len(valid) == 12 and 0 < expected < 1  # a proportion of 12, not a constant


def test_no_validation_split_records_no_valid_acc(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(hidden_size=4, max_epochs=2, random_state=0).fit(X, y)
    assert all("valid_acc" not in row for row in clf.history_)


def _first_converged_epoch(losses, epochs_per_round, tol, patience):
    """Where the convergence test stops, recomputed from the epochs' losses."""
    best, misses = math.inf, 0
    for end in range(epochs_per_round, len(losses) + 1, epochs_per_round):
        loss = math.fsum(losses[end - epochs_per_round : end]) / epochs_per_round
        if loss < best - tol:
            best, misses = loss, 0
        else:
            misses += 1
        if misses >= patience or loss < patience * tol:
            return end
    return None


def _two_groups(Estimator):
    """Two well separated groups of 40 sequences: the loss soon stops falling by tol."""
    rng = np.random.default_rng(0)
    labels = np.arange(40) % 2
    X = rng.normal(size=(40, 6, 2)) + 3.0 * labels[:, None, None]
    return X, targets(Estimator, labels)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_converged_fits_anneal_over_a_tenth_of_the_budget_then_stop(Estimator):
    X, y = _two_groups(Estimator)
    params = dict(hidden_size=4, conv_channels=None, max_epochs=200, lr=0.01, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # stopping is not an interruption
        est = Estimator(**params, tol=1e-3, n_iter_no_change=3, lr_schedule="cosine").fit(X, y)
    # 40 sequences make 2 batches: rounds of 10 epochs (20 steps).
    converged = _first_converged_epoch(est.history_[:, "train_loss"], 10, 1e-3, 3)
    assert est.n_iter_ == converged + 20 < 200
    lrs = est.history_[:, "lr"]  # the lr of each epoch's last step (of 2)
    last_steps = 2 * np.arange(200) + 1
    full = 0.005 * (1 + np.cos(np.pi * last_steps / 400))
    np.testing.assert_allclose(lrs[:converged], full[:converged], rtol=1e-12)
    # Then from where the cosine was to 0 along a half cosine, over 20 epochs (40 steps).
    start = 0.5 * (1 + np.cos(np.pi * 2 * converged / 400))
    tail = 0.01 * start * 0.5 * (1 + np.cos(np.pi * last_steps[:20] / 40))
    np.testing.assert_allclose(lrs[converged:], tail, rtol=1e-12)
    # A warm start counts its own epochs, whatever the history holds.
    first = est.n_iter_
    est.set_params(warm_start=True, max_epochs=100).fit(X, y)
    second = _first_converged_epoch(est.history_[first:, "train_loss"], 10, 1e-3, 3)
    assert est.n_iter_ - first == min(second + 10, 100)
    # The constant schedule stops at once; None trains every epoch.
    constant = Estimator(**params, tol=1e-3, n_iter_no_change=3, lr_schedule="constant")
    constant.fit(X, y)
    losses = constant.history_[:, "train_loss"]
    assert constant.n_iter_ == _first_converged_epoch(losses, 10, 1e-3, 3) < 200
    assert Estimator(**params, tol=None).fit(X, y).n_iter_ == 200


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_a_loss_below_patience_times_tol_ends_a_fit_still_improving(Estimator):
    X, y = _two_groups(Estimator)
    params = dict(
        hidden_size=4, conv_channels=None, max_epochs=300, lr=0.01, random_state=0,
        lr_schedule="constant", n_iter_no_change=50,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # stopping is not an interruption
        est = Estimator(**params, tol=1e-3).fit(X, y)
    converged = dict(est.net_.callbacks_)["converged"]
    losses = est.history_[:, "train_loss"]
    rounds = np.mean(np.reshape(losses, (-1, 10)), axis=1)  # rounds of 10 epochs (20 steps)
    # It stopped at the first round below 50 * 1e-3, while the loss still fell by tol.
    assert rounds[-1] < 0.05 <= rounds[:-1].min()
    assert est.n_iter_ < 300 and converged.misses_ < 50
    assert est.n_iter_ == _first_converged_epoch(losses, 10, 1e-3, 50)
    # tol=0 leaves only the patience test: the loss never goes below 0.
    assert Estimator(**params, tol=0.0).fit(X, y).n_iter_ == 300


class InterruptAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_an_interrupt_during_the_converged_anneal_is_reported(Estimator):
    X, y = _two_groups(Estimator)
    params = dict(
        hidden_size=4, conv_channels=None, max_epochs=200, lr=0.01, random_state=0,
        lr_schedule="cosine", tol=1e-3, n_iter_no_change=3,
    )
    converged = _first_converged_epoch(Estimator(**params).fit(X, y).history_[:, "train_loss"],
                                       10, 1e-3, 3)
    # The test has fired and the anneal runs 20 more epochs: 5 into it, an interrupt.
    est = Estimator(**params, callbacks=[InterruptAt(converged + 5)])
    with pytest.warns(UserWarning, match=f"interrupted after {converged + 5} epoch"):
        est.fit(X, y)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_the_plateau_schedule_holds_the_lr_until_converged_then_anneals(Estimator):
    X, y = _two_groups(Estimator)
    params = dict(
        hidden_size=4, conv_channels=None, max_epochs=200, lr=0.01, random_state=0,
        lr_schedule="plateau",
    )
    est = Estimator(**params, tol=1e-3, n_iter_no_change=3).fit(X, y)
    # 40 sequences make 2 batches: rounds of 10 epochs (20 steps).
    converged = _first_converged_epoch(est.history_[:, "train_loss"], 10, 1e-3, 3)
    assert est.n_iter_ == converged + 20 < 200
    lrs = est.history_[:, "lr"]  # the lr of each epoch's last step (of 2)
    np.testing.assert_array_equal(lrs[:converged], 0.01)
    # Then from lr to 0 along a half cosine, over 20 epochs (40 steps).
    last_steps = 2 * np.arange(20) + 1
    np.testing.assert_allclose(lrs[converged:], 0.005 * (1 + np.cos(np.pi * last_steps / 40)))
    # Without a convergence test, the anneal takes the budget's last tenth.
    full = Estimator(**params, tol=None).fit(X, y)
    lrs = full.history_[:, "lr"]
    assert full.n_iter_ == 200
    np.testing.assert_array_equal(lrs[:180], 0.01)
    np.testing.assert_allclose(lrs[180:], 0.005 * (1 + np.cos(np.pi * last_steps / 40)))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_the_hold_schedule_stops_when_converged_and_anneals_only_at_the_budget_end(Estimator):
    X, y = _two_groups(Estimator)
    params = dict(
        hidden_size=4, conv_channels=None, max_epochs=200, lr=0.01, random_state=0,
        lr_schedule="hold",
    )
    # Converged before the last tenth: the same fit as the constant schedule.
    est = Estimator(**params, tol=1e-3, n_iter_no_change=3).fit(X, y)
    constant = Estimator(**{**params, "lr_schedule": "constant"}, tol=1e-3, n_iter_no_change=3)
    constant.fit(X, y)
    converged = _first_converged_epoch(est.history_[:, "train_loss"], 10, 1e-3, 3)
    assert est.n_iter_ == constant.n_iter_ == converged < 180
    np.testing.assert_array_equal(est.history_[:, "lr"], 0.01)
    np.testing.assert_array_equal(est.history_[:, "train_loss"], constant.history_[:, "train_loss"])
    # A fit that reaches the budget's last tenth anneals over it, as plateau's does:
    # without a convergence test, and with one that fires during that anneal
    # (the constant fit's epoch falls within it), which does not end it.
    epochs = converged + 5
    anneal_from = epochs - math.ceil(0.1 * epochs)
    assert anneal_from < converged
    steps = 2 * (epochs - anneal_from)
    anneal = 0.005 * (1 + np.cos(np.pi * (2 * np.arange(steps // 2) + 1) / steps))
    for tol in (None, 1e-3):
        late = Estimator(**{**params, "max_epochs": epochs}, tol=tol, n_iter_no_change=3)
        late.fit(X, y)
        lrs = late.history_[:, "lr"]
        assert late.n_iter_ == epochs
        np.testing.assert_array_equal(lrs[:anneal_from], 0.01)
        np.testing.assert_allclose(lrs[anneal_from:], anneal, rtol=1e-12)
        if tol is not None:
            assert dict(late.net_.callbacks_)["converged"].stop_at_ == epochs  # it fired


class KeepWeights(Callback):
    """Keeps a copy of the module's parameters after every training step."""

    def on_train_begin(self, net, **kwargs):
        self.steps_ = []

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.steps_.append(
                {name: p.detach().clone() for name, p in net.module_.named_parameters()}
            )


def _parameters(est):
    return {name: p.detach() for name, p in est.net_.module_.named_parameters()}


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_a_fit_stopped_at_once_takes_the_mean_weights_of_its_last_rounds(Estimator):
    X, y = _two_groups(Estimator)
    params = dict(
        hidden_size=4, conv_channels=None, max_epochs=200, lr=0.01, random_state=0,
        tol=1e-3, n_iter_no_change=3,
    )
    for schedule in ("hold", "constant"):
        est = Estimator(**params, lr_schedule=schedule, callbacks=[("keep", KeepWeights())])
        est.fit(X, y)
        converged = _first_converged_epoch(est.history_[:, "train_loss"], 10, 1e-3, 3)
        assert est.n_iter_ == converged < 180
        # 2 steps an epoch, rounds of 10 epochs: the weights at the ends of the
        # epochs of the last 3 rounds (of the later half of the rounds).
        rounds = min(3, converged // 10 // 2)
        converged_cb = dict(est.net_.callbacks_)["converged"]
        assert rounds >= 1 and converged_cb.averaged_rounds_ == rounds
        assert converged_cb.sum_ is None and not converged_cb.sums_  # freed once trained
        ends = dict(est.net_.callbacks_)["keep"].steps_[1::2][-10 * rounds :]
        for name, value in _parameters(est).items():
            mean = torch.stack([state[name] for state in ends]).mean(0)
            torch.testing.assert_close(value, mean, rtol=1e-5, atol=1e-6)
        last = ends[-1]
        assert not all(torch.equal(value, last[name]) for name, value in _parameters(est).items())
    # A fit the test ends at its first round keeps its last weights (the
    # floor of 3 * 1.0 fires at once), as does one that anneals or runs its budget.
    keep = [("keep", KeepWeights())]
    first = Estimator(**{**params, "tol": 1.0}, lr_schedule="hold", callbacks=keep).fit(X, y)
    assert first.n_iter_ == 10
    assert dict(first.net_.callbacks_)["converged"].averaged_rounds_ == 0
    cosine = Estimator(**params, lr_schedule="cosine", callbacks=keep).fit(X, y)
    epoch = _first_converged_epoch(cosine.history_[:, "train_loss"], 10, 1e-3, 3)
    assert cosine.n_iter_ == epoch + 20 < 200
    budget = Estimator(**{**params, "tol": None, "max_epochs": 30}, callbacks=keep).fit(X, y)
    assert budget.n_iter_ == 30
    for est in (first, cosine, budget):
        last = dict(est.net_.callbacks_)["keep"].steps_[-1]
        for name, value in _parameters(est).items():
            assert torch.equal(value, last[name])


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_an_own_callback_named_lr_schedule_is_not_taken_for_sklstms(Estimator):
    X, y = _two_groups(Estimator)
    own = LRScheduler("StepLR", step_size=1000)  # keeps lr over these fits
    params = dict(
        hidden_size=4, conv_channels=None, max_epochs=200, lr=0.01, random_state=0,
        lr_schedule="constant", tol=1e-3, n_iter_no_change=3,
    )
    est = Estimator(**params, callbacks=[("lr_schedule", own)]).fit(X, y)
    # The convergence test stops at once, as without the callback.
    converged = _first_converged_epoch(est.history_[:, "train_loss"], 10, 1e-3, 3)
    assert est.n_iter_ == converged == Estimator(**params).fit(X, y).n_iter_ < 200


def test_early_stopping_replaces_the_convergence_test(seq3d):
    X, y = seq3d
    params = dict(hidden_size=4, conv_channels=None, max_epochs=2, random_state=0)
    plain = LSTMSequenceClassifier(**params).fit(X, y)
    stopping = LSTMSequenceClassifier(
        **params, validation_fraction=0.25, early_stopping=True
    ).fit(X, y)
    assert "converged" in dict(plain.net_.callbacks_)
    assert "converged" not in dict(stopping.net_.callbacks_)
    assert "early_stopping" in dict(stopping.net_.callbacks_)
