"""Memory and time of fitting ragged sequences: padded widths against each batch's longest.

Ragged batches pad to ``sklstm._data.padded_width`` of their longest
sequence (8 widths per octave). The baseline, in the same run, pads each
batch to its longest sequence exactly, as sklstm did before (and as
``pad_sequence`` does): ``padded_width`` is replaced by the identity in
that process. Each measurement runs in a fresh process: the default
classifier fits ``--epochs`` epochs on ``--sequences`` univariate
sequences of uniformly random lengths from ``--shortest`` to ``--longest``
steps, then predicts them. "Growth" is the anonymous resident memory after
the fit and predict minus before them (after a warm-up fit on 64 of the
sequences): the CPU's convolutions and LSTMs (oneDNN) keep a cached
primitive, with its own memory, for every input shape they meet, memory
that stays with the process. ``ONEDNN_PRIMITIVE_CACHE_CAPACITY=0`` (no
cache) is measured too, as the floor. Prints the median over --repeats
fresh processes, taking turns, and the ratios to the baseline.

Usage::

    python benchmarks/ragged_memory.py
    python benchmarks/ragged_memory.py --sequences 4000 --longest 1500 --repeats 3
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from window_memory import _proc_status


def anonymous_mb():
    return _proc_status("RssAnon")  # Linux only


def measure(args):
    import numpy as np

    import sklstm._data
    from sklstm import LSTMSequenceClassifier

    if args.exact:
        sklstm._data.padded_width = lambda n_steps: n_steps
    rng = np.random.default_rng(0)
    lengths = rng.integers(args.shortest, args.longest + 1, args.sequences)
    X = [rng.standard_normal((n, 1)).astype(np.float32) for n in lengths]
    y = np.arange(args.sequences) % 2
    clf = LSTMSequenceClassifier(max_epochs=1, random_state=0).fit(X[:64], y[:64])
    before = anonymous_mb()
    start = time.perf_counter()
    clf.set_params(max_epochs=args.epochs).fit(X, y)
    fit = time.perf_counter() - start
    start = time.perf_counter()
    clf.predict_proba(X)
    predict = time.perf_counter() - start
    return {"growth_mb": anonymous_mb() - before, "fit_s": fit, "predict_s": predict}


CASES = {
    "padded widths": ([], {}),
    "each batch's longest": (["--exact"], {}),
    "each batch's longest, no primitive cache": (
        ["--exact"], {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "0"},
    ),
}


def run_fresh(args, flags, env):
    command = [
        sys.executable, __file__, "--child", "--sequences", str(args.sequences),
        "--shortest", str(args.shortest), "--longest", str(args.longest),
        "--epochs", str(args.epochs), *flags,
    ]
    out = subprocess.run(
        command, capture_output=True, text=True, check=True, env={**os.environ, **env}
    )
    return json.loads(out.stdout.splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sequences", type=int, default=2000)
    parser.add_argument("--shortest", type=int, default=20)
    parser.add_argument("--longest", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--exact", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args)))
        return
    results = {name: [] for name in CASES}
    for round_ in range(args.repeats):
        names = list(CASES) if round_ % 2 == 0 else list(CASES)[::-1]
        for name in names:
            results[name].append(run_fresh(args, *CASES[name]))
    print(
        f"{args.sequences} sequences of {args.shortest}-{args.longest} steps, "
        f"{args.epochs} epochs then predict_proba; median of {args.repeats} fresh processes"
    )
    base = {k: statistics.median(r[k] for r in results["each batch's longest"])
            for k in ("growth_mb", "fit_s", "predict_s")}
    print(f"{'case':<42} {'growth MiB':>10} {'ratio':>6} {'fit s':>7} {'ratio':>6} "
          f"{'predict s':>9} {'ratio':>6}")
    for name, runs in results.items():
        row = {k: statistics.median(r[k] for r in runs) for k in base}
        print(
            f"{name:<42} {row['growth_mb']:>10.1f} {row['growth_mb'] / base['growth_mb']:>6.2f} "
            f"{row['fit_s']:>7.2f} {row['fit_s'] / base['fit_s']:>6.2f} "
            f"{row['predict_s']:>9.2f} {row['predict_s'] / base['predict_s']:>6.2f}"
        )


if __name__ == "__main__":
    main()
