"""Peak memory of fitting on many short sequences and on few very long ones.

Each case runs in a fresh process (as window_memory.py, whose helpers it
uses): the data is created, then the baseline is measured in the same
process, one hand-written training step of the same network on one batch
(a new batch array, forward, backward, Adam step), and then one epoch of
``LSTMSequenceClassifier.fit`` on all the data. Memory is the growth of the
peak resident set size over the resident size just before each. A fit that
holds nothing but the data, the model and a batch grows about as much as
the one-batch step; the table prints both and their difference, next to the
size of the data. Both come after a warm-up step and a warm-up fit on two
batches, which pay for loading and setting up the libraries.

Lists of variable-length sequences are packed once into one array (that is
how they are validated and batched), so their fit grows by one copy of the
values as well; 3D arrays are used as they are.

Usage::

    python benchmarks/load_memory.py                  # all three cases
    python benchmarks/load_memory.py --cases long     # 1000 x 10,000 steps
"""

import argparse
import json
import os
import subprocess
import sys
import time

from window_memory import peak_mb, start_measuring

N_FEATURES = 4
HIDDEN = 16
CASES = {
    # name: (sequences, steps (or min, max for a ragged list), batch size)
    "short": (1_000_000, 10, 256),
    "short ragged list": (1_000_000, (5, 15), 256),
    "long": (1_000, 10_000, 32),
}


def measure(case):
    import numpy as np
    import torch

    from sklstm import LSTMSequenceClassifier
    from sklstm._module import LSTMNet

    n, steps, batch_size = CASES[case]
    rng = np.random.default_rng(0)
    if isinstance(steps, tuple):
        lengths = rng.integers(steps[0], steps[1] + 1, size=n)
        values = rng.standard_normal((lengths.sum(), N_FEATURES), dtype=np.float32)
        X = np.split(values, np.cumsum(lengths)[:-1])
        data_mb = values.nbytes / 2**20
        longest = steps[1]
    else:
        X = rng.standard_normal((n, steps, N_FEATURES), dtype=np.float32)
        data_mb = X.nbytes / 2**20
        longest = steps
    y = rng.integers(0, 2, size=n)

    def one_step():
        module = LSTMNet(N_FEATURES, 2, (HIDDEN,), bidirectional=False, pooling="mean")
        optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
        shape = (batch_size, longest, N_FEATURES)
        batch = torch.from_numpy(rng.standard_normal(shape, dtype=np.float32))
        loss = torch.nn.functional.cross_entropy(module(batch), torch.from_numpy(y[:batch_size]))
        loss.backward()
        optimizer.step()

    clf = LSTMSequenceClassifier(
        HIDDEN, bidirectional=False, pooling="mean", conv_channels=None, max_epochs=1,
        batch_size=batch_size, random_state=0,
    )
    # Warm-up: libraries and kernels are loaded and set up once per process.
    one_step()
    clf.fit(X[: 2 * batch_size], y[: 2 * batch_size])
    # Baseline: one training step of the same network on one batch.
    base = start_measuring()
    one_step()
    one_batch = peak_mb() - base

    base = start_measuring()
    start = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - start
    fit = peak_mb() - base
    return {"data_mb": data_mb, "one_batch_mb": one_batch, "fit_mb": fit, "seconds": seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.cases[0])))
        return
    print(
        f"LSTM({HIDDEN}), mean pooling, {N_FEATURES} float32 features, one epoch; peak "
        "memory growth in MiB, each case in a fresh process"
    )
    print(
        f"{'case':>18} {'sequences':>10} {'steps':>8} {'data':>7} {'one batch':>10} "
        f"{'fit':>7} {'fit - batch':>12} {'seconds':>8}"
    )
    env = {"MALLOC_MMAP_THRESHOLD_": "131072", **os.environ}
    for case in args.cases:
        command = [sys.executable, __file__, "--child", "--cases", case]
        out = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
        result = json.loads(out.stdout.splitlines()[-1])
        n, steps, _ = CASES[case]
        steps = f"{steps[0]}-{steps[1]}" if isinstance(steps, tuple) else str(steps)
        print(
            f"{case:>18} {n:>10} {steps:>8} {result['data_mb']:>7.1f} "
            f"{result['one_batch_mb']:>10.1f} {result['fit_mb']:>7.1f} "
            f"{result['fit_mb'] - result['one_batch_mb']:>12.1f} {result['seconds']:>8.1f}"
        )


if __name__ == "__main__":
    main()
