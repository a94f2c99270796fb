"""Cross-validation in parallel: torch threads under joblib workers.

``cross_validate(clf, X, y, cv=4)`` with ``n_jobs=1`` (the baseline: one
process, torch on all its default threads) against ``n_jobs=2`` with
joblib's default backend (loky: worker processes, in which joblib sets
OMP_NUM_THREADS to cpu_count // n_jobs, which torch follows) and with the
threading backend (threads of one process, where sklstm splits torch's
threads among the fits running at once; without that, two fits would run
twice as many threads as cores). The table shows median seconds, the torch
threads each fit trained with, and the ratio to n_jobs=1.

Usage::

    python benchmarks/parallel_speed.py
"""

import torch
from _timing import interleaved, median, parse_args, print_table, ratio_text, sequence_data
from joblib import parallel_config
from sklearn.model_selection import cross_validate
from skorch.callbacks import Callback

from sklstm import LSTMSequenceClassifier


class ThreadCount(Callback):
    def on_epoch_end(self, net, **kwargs):
        self.threads_ = torch.get_num_threads()


def main(argv=None):
    args = parse_args(__doc__, argv, samples=1024, epochs=4, repeats=5)
    X, y = sequence_data(args.samples, 50, 8)
    clf = LSTMSequenceClassifier(
        64, bidirectional=False, pooling="last", conv_channels=None,
        lr_schedule="constant", max_epochs=args.epochs,
        callbacks=[("threads", ThreadCount())], random_state=0,
    )
    threads = {}

    def run(label, backend, n_jobs):
        def cv():
            with parallel_config(backend=backend):
                result = cross_validate(clf, X, y, cv=4, n_jobs=n_jobs, return_estimator=True)
            threads[label] = sorted(
                {dict(e.net_.callbacks_)["threads"].threads_ for e in result["estimator"]}
            )
        return cv

    print(
        f"cross_validate, 4 folds of {args.samples} sequences x 50 steps x 8 features, "
        f"LSTM(64) + Linear, {args.epochs} epochs; median of {args.repeats} "
        "interleaved rounds (worker start-up in the warm-up round)\n"
    )
    times = interleaved(
        {
            "n_jobs=1": run("n_jobs=1", "loky", 1),
            "n_jobs=2, loky (processes)": run("n_jobs=2, loky (processes)", "loky", 2),
            "n_jobs=2, threading": run("n_jobs=2, threading", "threading", 2),
        },
        args.repeats,
    )
    base = times["n_jobs=1"]
    rows = [
        [name, median(runs), ",".join(map(str, threads[name])), ratio_text(runs, base)]
        for name, runs in times.items()
    ]
    print_table(["parallelism", "seconds", "torch threads per fit", "ratio (95%)"], rows)


if __name__ == "__main__":
    main()
