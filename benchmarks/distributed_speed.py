"""Throughput of a data-parallel fit: 1 process against N under torchrun (gloo).

The same fit (global batch, epochs, seed) runs once in one process with
all the machine's cores, and once as ``--procs`` ranks under ``torchrun``
on the loopback interface, each with cores / procs torch threads. The table
gives sequences per second of each, their ratio, and how far the two
models' predictions differ (float32: rounding only). On a 2-core machine
expect little gain: the gradient sums cost what a step saves. The point of
the multi-process fit is several GPUs or machines (see the user guide).

Usage::

    python benchmarks/distributed_speed.py            # 8192 x 50 steps x 8 features
    python benchmarks/distributed_speed.py --procs 2 --n 4096
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np


def data(n, steps, features):
    rng = np.random.RandomState(0)
    X = rng.randn(n, steps, features).astype(np.float32)
    y = (X[:, : steps // 2, 0].mean(axis=1) > X[:, steps // 2 :, 1].mean(axis=1)).astype(int)
    return X, y


def fit(n, steps, features, epochs, out):
    """One rank (or the single process): fit, time it, save the predictions."""
    from sklstm import LSTMSequenceClassifier

    X, y = data(n, steps, features)
    clf = LSTMSequenceClassifier(32, batch_size=128, max_epochs=epochs, random_state=0)
    start = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - start
    if os.environ.get("RANK", "0") == "0":
        np.save(os.path.join(out, "proba.npy"), clf.predict_proba(X))
        with open(os.path.join(out, "time.json"), "w") as f:
            json.dump({"seconds": seconds}, f)


def run(procs, args, out):
    cores = os.cpu_count() or 1
    env = dict(os.environ, OMP_NUM_THREADS=str(max(1, cores // procs)), GLOO_SOCKET_IFNAME="lo")
    sizes = [str(args.n), str(args.steps), str(args.features), str(args.epochs), out]
    if procs == 1:
        command = [sys.executable, __file__, "--rank", *sizes]
    else:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        command = [
            sys.executable, "-m", "torch.distributed.run", "--nnodes=1",
            f"--nproc-per-node={procs}", "--rdzv-backend=c10d",
            f"--rdzv-endpoint=127.0.0.1:{port}", __file__, "--rank", *sizes,
        ]
    subprocess.run(command, env=env, check=True, timeout=3600)
    with open(os.path.join(out, "time.json")) as f:
        seconds = json.load(f)["seconds"]
    return seconds, np.load(os.path.join(out, "proba.npy"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--n", type=int, default=8192)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--features", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"{os.cpu_count()} cores | {args.n} x {args.steps} steps x {args.features} features, "
          f"batch 128 (global), {args.epochs} epochs, default classifier (hidden 32)")
    results = {}
    for procs in (1, args.procs):
        with tempfile.TemporaryDirectory() as out:
            results[procs] = run(procs, args, out)
    base, base_proba = results[1]
    print(f"\n{'processes':>9s} {'fit s':>8s} {'seq/s':>9s} {'x 1 process':>12s} {'max |dp|':>9s}")
    for procs, (seconds, proba) in results.items():
        print(f"{procs:9d} {seconds:8.1f} {args.n * args.epochs / seconds:9.0f} "
              f"{base / seconds:12.2f} {np.abs(proba - base_proba).max():9.1e}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--rank":
        n, steps, features, epochs, out = sys.argv[2:7]
        fit(int(n), int(steps), int(features), int(epochs), out)
    else:
        main()
