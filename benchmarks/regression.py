"""RMSE of the default LSTMSequenceRegressor on public TSER data sets, against ROCKET.

Time series extrinsic regression (TSER; C. W. Tan, C. Bergmeir, F.
Petitjean and G. I. Webb (2021), "Time series extrinsic regression", Data
Mining and Knowledge Discovery 35, 1032-1060) predicts a number from a
whole series. The sets here are the TSER archive's that aeon and sktime
ship inside their wheels, read from the ``.ts`` files without installing
either (see ``_archives.py``), on their official train/test splits:

- Covid3Month (aeon): 201 countries' daily COVID-19 cases over 84 days,
  the target their death rate;
- Tecator (sktime): 215 near-infrared absorbance spectra (100 channels of
  850-1050 nm) of meat samples, the target their fat content;
- CardanoSentiment (aeon): 24 hours of Cardano prices and volumes (2
  channels), the target the next day's news sentiment.

Contenders, each fitted on the training split, scored by test RMSE:

- the mean predictor (the training targets' mean);
- ridge regression on the flattened, standardized series, its alpha chosen
  by leave-one-out (``RidgeCV``);
- ROCKET as ``sktime``'s ``RocketRegressor`` (10,000 kernels, A. Dempster,
  F. Petitjean and G. I. Webb (2020), "ROCKET: exceptionally fast and
  accurate time series classification using random convolutional
  kernels", Data Mining and Knowledge Discovery 34, 1454-1495), which Tan
  et al. found the most accurate of their TSER baselines. It runs in the
  benchmark-only environment ``benchmarks/.peers`` (``make peers``), in a
  fresh process per fit, on the same threads; its numba functions are
  compiled by a small fit first, outside the time;
- ``LSTMSequenceRegressor(random_state=seed)`` with its defaults, or the
  parameters given with ``--param``.

Usage::

    python benchmarks/regression.py                      # all sets, 3 seeds
    python benchmarks/regression.py --datasets Tecator --seeds 5
    python benchmarks/regression.py --no-rocket --param normalize=None
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from _workers import load_data, run_worker

# name: (package whose wheel holds it, kind)
DATASETS = {
    "Covid3Month": ("aeon", "univariate, 84 steps"),
    "Tecator": ("sktime", "univariate, 100 steps"),
    "CardanoSentiment": ("aeon", "2 channels, 24 steps"),
}


def rmse(y, predicted):
    return float(np.sqrt(np.mean((np.asarray(y) - predicted) ** 2)))


def load(name):
    from _archives import load_ts

    X_train, X_test, y_train, y_test = load_ts(DATASETS[name][0], name)
    return X_train, X_test, y_train.astype(np.float64), y_test.astype(np.float64)


def baselines(X_train, X_test, y_train, y_test):
    """RMSE of the mean predictor and of ridge on the flattened series."""
    from sklearn.linear_model import RidgeCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    mean = rmse(y_test, np.full(len(y_test), y_train.mean()))
    ridge = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-3, 3, 13)))
    ridge.fit(X_train.reshape(len(X_train), -1), y_train)
    return mean, rmse(y_test, ridge.predict(X_test.reshape(len(X_test), -1)))


def fit_sklstm(X_train, X_test, y_train, y_test, seed, params):
    from sklstm import LSTMSequenceRegressor

    reg = LSTMSequenceRegressor(random_state=seed, **params)
    start = time.perf_counter()
    reg.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return rmse(y_test, reg.predict(X_test)), seconds


def fit_rocket(data, seed, threads):
    """Fit ROCKET in a fresh process of the peers' environment: (RMSE, seconds)."""
    keys = ("X_train", "X_test", "y_train", "y_test")
    result = run_worker(Path(__file__), "rocket", dict(zip(keys, data)), seed, threads)
    return result["rmse"], result["seconds"]


def rocket_worker(path, seed, threads):
    """Runs in the peers' environment: fit sktime's RocketRegressor, print JSON."""
    from sktime.regression.kernel_based import RocketRegressor

    data = load_data(path)
    # sktime's numpy3D layout is (n_cases, n_channels, n_timepoints).
    X_train, X_test = (data[k].transpose(0, 2, 1) for k in ("X_train", "X_test"))
    y_train, y_test = data["y_train"], data["y_test"]
    RocketRegressor(num_kernels=100, n_jobs=threads).fit(X_train[:10], y_train[:10])
    reg = RocketRegressor(random_state=seed, n_jobs=threads)
    start = time.perf_counter()
    reg.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    print(json.dumps({"rmse": rmse(y_test, reg.predict(X_test)), "seconds": seconds}))


def summary(values):
    values = np.asarray(values)
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{values.mean():.4g} ({values.min():.4g}-{values.max():.4g})"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2, help="threads of every contender")
    parser.add_argument("--no-rocket", action="store_true", help="skip ROCKET (faster studies)")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE",
        help="an LSTMSequenceRegressor parameter to change (a Python literal)",
    )
    args = parser.parse_args(argv)
    import torch
    from _timing import literal_params, machine, print_markdown_table

    torch.set_num_threads(args.threads)
    params = literal_params(args.param)
    print(machine())
    print(f"LSTMSequenceRegressor({', '.join(f'{k}={v!r}' for k, v in params.items())}), "
          f"seeds 0-{args.seeds - 1}, {args.threads} threads, official train/test splits")
    header = ("data set", "kind", "train/test", "mean predictor", "ridge", "ROCKET RMSE",
              "ROCKET fit s", "sklstm RMSE mean (min-max)", "sklstm fit s", "sklstm / ROCKET")
    rows = []
    for name in args.datasets:
        data = load(name)
        mean, ridge = baselines(*data)
        rocket = [] if args.no_rocket else [
            fit_rocket(data, seed, args.threads) for seed in range(args.seeds)
        ]
        lstm = [fit_sklstm(*data, seed, params) for seed in range(args.seeds)]
        ratio = (
            "-" if not rocket
            else f"{np.mean([r for r, _ in lstm]) / np.mean([r for r, _ in rocket]):.2f}"
        )
        rows.append((
            name, DATASETS[name][1], f"{len(data[2])}/{len(data[3])}",
            f"{mean:.4g}", f"{ridge:.4g}",
            summary([r for r, _ in rocket]) if rocket else "-",
            f"{np.mean([s for _, s in rocket]):.1f}" if rocket else "-",
            summary([r for r, _ in lstm]), f"{np.mean([s for _, s in lstm]):.1f}", ratio,
        ))
        print(" | ".join(rows[-1]), flush=True)
    print_markdown_table(header, rows)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        rocket_worker(sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
