"""The training budget against the data: a large data set, and sklearn's checks.

- ``large``: 50,000 synthetic training sequences (``make_sequence_classification``,
  5 classes, 16 steps, 2 features, noise 2.0; ``--n-train`` for another
  size) and 5,000 held out. The
  default classifier (``max_epochs="auto"``: steps growing as the square
  root of the data; the convergence test ``tol``) against the same
  classifier trained 100 epochs without the test (``max_epochs=100,
  tol=None``, the earlier default budget for data of this size). Prints
  epochs, fit time, held-out accuracy and the ratios.
- ``checks``: the wall time of ``sklearn.utils.estimator_checks.check_estimator``
  on ``LSTMSequenceClassifier()`` with its defaults, and its slowest checks.

Usage::

    python benchmarks/budget.py                 # both
    python benchmarks/budget.py --only large
    python benchmarks/budget.py --only checks
"""

import time
import warnings

from _timing import parse_args, print_table

from sklstm import LSTMSequenceClassifier
from sklstm.datasets import make_sequence_classification

N_TEST = 5_000


def large(n_train):
    X, y = make_sequence_classification(
        n_train + N_TEST, n_timesteps=16, n_features=2, n_classes=5, noise=2.0,
        random_state=0,
    )
    X_train, X_test, y_train, y_test = X[:n_train], X[n_train:], y[:n_train], y[n_train:]
    contenders = {
        "default (auto budget, tol=1e-3)": {},
        "100 epochs, no convergence test": dict(max_epochs=100, tol=None),
    }
    results = {}
    for name, params in contenders.items():
        clf = LSTMSequenceClassifier(random_state=0, **params)
        start = time.perf_counter()
        clf.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        results[name] = (clf.n_iter_, seconds, clf.score(X_test, y_test))
        print(f"{name}: {clf.n_iter_} epochs, {seconds:.0f} s, "
              f"held-out accuracy {results[name][2]:.4f}", flush=True)
    _, base_seconds, base_accuracy = results["100 epochs, no convergence test"]
    print(f"\n{n_train} training sequences, {N_TEST} held out")
    print_table(
        ["budget", "epochs", "fit s", "held-out accuracy", "time ratio", "accuracy difference"],
        [
            [name, epochs, f"{seconds:.0f}", f"{accuracy:.4f}",
             f"{seconds / base_seconds:.3f}", f"{accuracy - base_accuracy:+.4f}"]
            for name, (epochs, seconds, accuracy) in results.items()
        ],
    )


def checks():
    from collections import Counter

    from sklearn.utils.estimator_checks import check_estimator

    # check_estimator calls back after each check: the time since the
    # previous call (or the start) is that check's.
    durations = []
    start = last = time.perf_counter()

    def timed(*, check_name, **result):
        nonlocal last
        now = time.perf_counter()
        durations.append((now - last, check_name))
        last = now

    # The default network computes in float32, which cannot make
    # sample_weight equal repetition to check_sample_weight_equivalence's
    # 1e-7 (float64 does: tests/test_common.py).
    expected = {"check_sample_weight_equivalence_on_dense_data": "float32 rounding"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(
            LSTMSequenceClassifier(), on_fail=None, callback=timed,
            expected_failed_checks=expected,
        )
    minutes = (time.perf_counter() - start) / 60
    statuses = Counter(result["status"] for result in results)
    print(f"\ncheck_estimator(LSTMSequenceClassifier()): {minutes:.1f} min; "
          + ", ".join(f"{count} {status}" for status, count in sorted(statuses.items())))
    print("the slowest checks (s):")
    for seconds, name in sorted(durations, reverse=True)[:8]:
        print(f"  {seconds:6.1f}  {name}")
    for result in results:
        if result["status"] == "failed":
            print(f"  failed: {result['check_name']}: {result['exception']!r}")


def main(argv=None):
    args = parse_args(__doc__, argv, n_train=50_000, extra=[
        (("--only",), dict(choices=["large", "checks"], default=None)),
    ])
    if args.only in (None, "large"):
        large(args.n_train)
    if args.only in (None, "checks"):
        checks()


if __name__ == "__main__":
    main()
