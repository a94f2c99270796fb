"""Fits that the data-parallel tests run in one process and across ranks.

``python tests/_ddp_cases.py CASE[,CASE...] OUT`` (under torchrun, or with RANK,
WORLD_SIZE, MASTER_ADDR and MASTER_PORT set) fits ``CASE`` and writes the
fitted parameters and history of this rank to ``OUT/CASE-rank<R>.pkl``; the
tests compare them with the same fit in one process (``fit_case``).
"""

import os
import pickle
import sys

import numpy as np
from skorch.callbacks import Callback

import sklstm
from sklstm.datasets import make_sequence_classification


def case_data(case):
    """``(estimator, X, y, sample_weight)`` of a case; the same in every process."""
    # 37 sequences in batches of 8: the last batch has 5, and in "tiny" 1
    # (fewer than the ranks), so that a rank computes at zero weight.
    X, y = make_sequence_classification(
        n_samples=37, n_timesteps=9, min_timesteps=3 if case != "equal" else None,
        n_features=2, n_classes=3, random_state=0,
    )
    common = dict(
        callbacks=[("seen", Seen())], hidden_size=4, conv_channels=(3, 4), dtype="float64", batch_size=8,
        max_epochs=4, random_state=3, lr=1e-2,
    )
    weight = None
    if case in ("ragged", "equal"):
        est = sklstm.LSTMSequenceClassifier(**common, class_weight="balanced")
    elif case == "tiny":
        X, y = X[:33], y[:33]  # 33 = 4 * 8 + 1
        est = sklstm.LSTMSequenceClassifier(**{**common, "max_epochs": 2})
    elif case == "validation":
        est = sklstm.LSTMSequenceClassifier(
            **{**common, "max_epochs": 30}, validation_fraction=0.25,
            early_stopping=True, n_iter_no_change=2, normalize="per_sequence",
        )
        weight = np.linspace(0.5, 2.0, len(y))
    elif case == "regressor":
        target = np.array([np.asarray(x)[:, 0].mean() for x in X])
        est = sklstm.LSTMSequenceRegressor(**common, gradient_clip=0.5)
        y = np.c_[target, -2 * target]
    elif case == "random_state_none":
        est = sklstm.LSTMSequenceClassifier(**{**common, "random_state": None})
    else:
        raise ValueError(case)
    return est, X, y, weight


def fit_case(case):
    est, X, y, weight = case_data(case)
    return est.fit(X, y, sample_weight=weight)


class Seen(Callback):
    """Count the training sequences this process computed on."""

    def on_train_begin(self, net, **kwargs):
        self.seen_ = 0

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.seen_ += len(batch[0]["x"])


def summary(est):
    return {
        "seen": dict(est.net_.callbacks_)["seen"].seen_,
        "params": {k: v.detach().numpy().copy() for k, v in est.net_.module_.state_dict().items()},
        "history": [
            {k: v for k, v in row.items() if k not in ("batches", "dur")}
            for row in est.history_
        ],
        "pickled": pickle.dumps(est),
    }


class _Die(Callback):
    """Exit the process abruptly at the second epoch of rank 1."""

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == 2 and os.environ.get("RANK") == "1":
            os._exit(3)


class FailOnRank1(Callback):
    """Raise at the second epoch of rank 1, as a failing fit would."""

    def on_epoch_begin(self, net, **kwargs):
        import torch.distributed as dist

        if len(net.history) == 2 and dist.is_initialized() and dist.get_rank() == 1:
            raise ArithmeticError("rank 1 failed here")


def main(cases, out):
    """Fit each of the comma-separated ``cases`` in turn, as every rank does."""
    rank = os.environ.get("RANK", "0")
    for case in cases.split(","):
        if case == "die":
            est, X, y, weight = case_data("ragged")
            est.set_params(callbacks=[("die", _Die())], max_epochs=50)
        elif case == "other_data":
            est, X, y, weight = case_data("ragged")
            if rank == "1":
                y = np.roll(y, 1)
        else:
            est, X, y, weight = case_data(case)
        est.fit(X, y, sample_weight=weight)
        with open(os.path.join(out, f"{case}-rank{rank}.pkl"), "wb") as f:
            pickle.dump(summary(est), f)


if __name__ == "__main__":
    import _ddp_cases  # this file as a module: its callbacks then pickle by name

    _ddp_cases.main(sys.argv[1], sys.argv[2])
