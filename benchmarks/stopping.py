"""Where the convergence test stops a fit, rule by rule, on the accuracy suite.

Each set and seed fits the default classifier once with ``tol=None`` (its
whole budget; the held lr anneals over the budget's last tenth), keeping
the weights at the end of every round of the convergence test (whole
epochs of at least 20 steps, as ``tol`` counts them) and the mean of that
round's epoch-end weights. A stopping rule only chooses the round a fit
ends at, so the fit it gives is what the test keeps there (the mean of
the last ``Converged.AVERAGE`` rounds' epoch-end weights, of the later
half of the rounds at most), scored here with the batch norm statistics
that the end of ``fit`` sets; a rule that fires within the budget's last
tenth lets the anneal finish (as ``lr_schedule="hold"`` does), which is
the full fit. The time is the full fit's, scaled by the epochs trained.

The rules: the default (a round's loss not below the best by ``tol`` for
``n_iter_no_change`` rounds, or below ``n_iter_no_change * tol``), the
same without that floor, with other floors, and with other ``tol`` and
``n_iter_no_change``.

Usage::

    python benchmarks/stopping.py                      # 8 sets, seeds 0-2
    python benchmarks/stopping.py --datasets GunPoint --seeds 1
"""

import argparse
import copy
import math
import time

import numpy as np
import torch
from _timing import machine, print_markdown_table
from accuracy import DATASETS, load
from skorch.callbacks import Callback

from sklstm import LSTMSequenceClassifier
from sklstm._callbacks import Converged

ROUND_STEPS = 20
# (name, tol, n_iter_no_change, floor): a fit ends after n_iter_no_change
# rounds without a gain of tol, or at a round whose loss is below floor.
RULES = [
    ("default: floor 10 x tol", 1e-3, 10, 1e-2),
    ("no floor", 1e-3, 10, 0.0),
    ("floor 0.005", 1e-3, 10, 5e-3),
    ("floor 0.02", 1e-3, 10, 2e-2),
    ("tol=3e-3, no floor", 3e-3, 10, 0.0),
    ("n_iter_no_change=5, no floor", 1e-3, 5, 0.0),
]
SUITE = [name for name in DATASETS if name not in ("ACSF1", "PLAID")]


class Rounds(Callback):
    """Keep each round's mean training loss, the mean of its epoch-end weights and its last."""

    def on_train_begin(self, net, X=None, **kwargs):
        self.train_ = X
        self.epochs_per_round_ = -(-ROUND_STEPS // -(-len(X) // net.batch_size))
        self.losses_, self.states_, self.rounds_ = [], [], []

    def on_epoch_end(self, net, **kwargs):
        self.losses_.append(net.history[-1, "train_loss"])
        self.states_.append(copy.deepcopy(net.module_.state_dict()))
        if len(self.losses_) == self.epochs_per_round_:
            loss = math.fsum(self.losses_) / len(self.losses_)
            self.rounds_.append((len(net.history), loss, _mean(self.states_), self.states_[-1]))
            self.losses_, self.states_ = [], []


def _mean(states):
    """The mean of state dicts' floating-point entries (the last one's others)."""
    return {
        key: torch.stack([state[key] for state in states]).mean(0)
        if value.is_floating_point() else value
        for key, value in states[-1].items()
    }


def stop_round(losses, tol, patience, floor):
    """The index of the round a rule ends the fit at, or None."""
    best, misses = math.inf, 0
    for i, loss in enumerate(losses):
        if loss < best - tol:
            best, misses = loss, 0
        else:
            misses += 1
        if misses >= patience or loss < floor:
            return i
    return None


def study(name, seed):
    """Per rule, ``(epochs, fit seconds, accuracy)`` of the fit it gives."""
    X_train, X_test, y_train, y_test = load(name)
    clf = LSTMSequenceClassifier(random_state=seed, tol=None, callbacks=[("rounds", Rounds())])
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    final = (clf.n_iter_, seconds, clf.score(X_test, y_test))
    rounds = dict(clf.net_.callbacks_)["rounds"]
    budget = clf.net_.max_epochs
    last_held = budget - math.ceil(Converged.TAIL * budget)  # the anneal starts after it
    losses = [loss for _, loss, _, _ in rounds.rounds_]
    scores = {}
    results = []
    for _, tol, patience, floor in RULES:
        i = stop_round(losses, tol, patience, floor)
        if i is None or rounds.rounds_[i][0] > last_held:
            results.append(final)
            continue
        epochs = rounds.rounds_[i][0]
        if i not in scores:
            # The mean of the last AVERAGE rounds' means (rounds of equal epochs).
            kept = min(Converged.AVERAGE, (i + 1) // 2)
            if kept:
                state = _mean([mean for _, _, mean, _ in rounds.rounds_[i + 1 - kept : i + 1]])
            else:  # a stop at the first round keeps its last weights
                state = rounds.rounds_[i][3]
            clf.net_.module_.load_state_dict(state)
            train = rounds.train_
            clf.net_.set_population_statistics(train, clf._predict_batch_size(train))
            scores[i] = clf.score(X_test, y_test)
        results.append((epochs, seconds * epochs / final[0], scores[i]))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=SUITE, choices=list(DATASETS))
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args(argv)
    print(machine())
    print(f"seeds 0-{args.seeds - 1}; accuracy mean (min-max) / epochs / fit s (scaled)")
    rows, totals = [], np.zeros((len(RULES), 2))
    for name in args.datasets:
        runs = np.array([study(name, seed) for seed in range(args.seeds)])  # seed, rule, 3
        row = [name]
        for r in range(len(RULES)):
            epochs, seconds, scores = runs[:, r].T
            row.append(f"{scores.mean():.3f} ({scores.min():.3f}-{scores.max():.3f}) / "
                       f"{epochs.mean():.0f} / {seconds.mean():.1f}")
            totals[r] += scores.mean(), seconds.mean()
        rows.append(row)
        print(" | ".join(row), flush=True)
    print_markdown_table(["data set", *(rule[0] for rule in RULES)], rows)
    print()
    for (rule, *_), (accuracy, seconds) in zip(RULES, totals):
        print(f"{rule}: mean accuracy {accuracy / len(args.datasets):.4f}, "
              f"total {seconds:.0f} s, {seconds / totals[0, 1]:.2f} of the default's")


if __name__ == "__main__":
    main()
