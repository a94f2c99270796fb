"""Peak memory of training on sliding windows: strided views against copies.

For growing series lengths, each measurement runs in a fresh process: a
float32 series of 4 features goes through
``SlidingWindowTransformer -> SequenceScaler -> LSTMSequenceClassifier``
(one epoch, then ``predict_proba``). The baseline, in the same run, is the
same pipeline with the windows copied into an ordinary array first, as
naive code does. "Growth" is the peak resident set size during the fit and
predict, minus the resident size just before, after a warm-up fit (Linux:
the peak is reset through /proc/self/clear_refs; elsewhere the process's
lifetime peak is used, which can under-report). Each case runs --repeats
times, interleaved; the table shows the median and the largest growth.

The children run with MALLOC_MMAP_THRESHOLD_=131072 (unless the environment
sets it): glibc then gives every buffer of 128 KiB or more its own mapping
and returns it when freed. With glibc's default, adaptive threshold, batch
buffers come from the heap, and freed heap memory that fragmentation keeps
from being reused or trimmed makes the peak vary from run to run by up to
about 150 MiB, memory that is free but not yet returned. The fixed threshold
measures the memory in use, the same in every run (and makes training
slower, which does not matter here).

Usage::

    python benchmarks/window_memory.py                 # 10k to 300k rows
    python benchmarks/window_memory.py --rows 100000 --window 128
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

N_FEATURES = 4


def start_measuring():
    """Reset the peak resident memory; return the resident memory now (MiB)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM, the peak resident set size
        return _proc_status("VmRSS")
    except OSError:
        return peak_mb()


def peak_mb():
    """Peak resident memory since ``start_measuring``, in MiB."""
    try:
        return _proc_status("VmHWM")
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _proc_status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 2**10
    raise OSError(f"{field} not in /proc/self/status")


def measure(n_rows, window_size, copy_windows):
    """Fit and predict once; return peak-memory growth and sizes (in MiB)."""
    import numpy as np
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from sklstm import LSTMSequenceClassifier, SequenceScaler, SlidingWindowTransformer

    rng = np.random.default_rng(0)
    series = rng.standard_normal((n_rows, N_FEATURES)).astype(np.float32)
    y = (series[:, 0] > 0).astype(int)
    steps = [SlidingWindowTransformer(window_size)]
    if copy_windows:
        steps.append(FunctionTransformer(np.array))  # what naive code does
    pipe = make_pipeline(
        *steps,
        SequenceScaler(),
        LSTMSequenceClassifier(
            hidden_size=8, bidirectional=False, conv_channels=None, max_epochs=1,
            batch_size=256, random_state=0,
        ),
    )
    pipe.fit(series[:2000], y[:2000]).predict_proba(series[:2000])  # warm-up
    base = start_measuring()
    start = time.perf_counter()
    pipe.fit(series, y).predict_proba(series)
    seconds = time.perf_counter() - start
    growth = peak_mb() - base
    # The ruler: materializing the windows once must show up in full.
    before_copy = start_measuring()
    copied = np.array(SlidingWindowTransformer(window_size).fit_transform(series))
    ruler = peak_mb() - before_copy
    return {
        "rows": n_rows,
        "series_mb": series.nbytes / 2**20,
        "windows_mb": copied.nbytes / 2**20,
        "growth_mb": growth,
        "ruler_growth_mb": ruler,
        "seconds": seconds,
    }


def run_fresh(n_rows, window_size, copy_windows=False):
    """Run ``measure`` in a fresh Python process and return its result."""
    command = [
        sys.executable, __file__, "--child", "--rows", str(n_rows),
        "--window", str(window_size),
    ] + (["--copy"] if copy_windows else [])
    env = {"MALLOC_MMAP_THRESHOLD_": "131072", **os.environ}
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 30_000, 100_000, 300_000])
    parser.add_argument("--window", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--copy", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.rows[0], args.window, args.copy)))
        return
    print(
        f"window_size={args.window}, {N_FEATURES} float32 features; peak memory "
        f"growth in MiB, median (max) of {args.repeats} fresh processes"
    )
    print(
        f"{'rows':>8} {'series':>7} {'windows':>8} {'views':>15} {'copies':>17} "
        f"{'views/copies':>12}"
    )
    for n_rows in args.rows:
        runs = {False: [], True: []}
        for _ in range(args.repeats):
            for copy_windows in (False, True):
                result = run_fresh(n_rows, args.window, copy_windows)
                runs[copy_windows].append(result["growth_mb"])
        view, copy = statistics.median(runs[False]), statistics.median(runs[True])
        print(
            f"{n_rows:>8} {result['series_mb']:>7.1f} {result['windows_mb']:>8.1f} "
            f"{view:>7.1f} ({max(runs[False]):>5.1f}) {copy:>8.1f} ({max(runs[True]):>6.1f}) "
            f"{view / copy:>12.3f}"
        )


if __name__ == "__main__":
    main()
