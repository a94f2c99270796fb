"""Memory of a fit on data larger than it: np.memmap, h5py and zarr on disk.

For each kind, a float32 array of ``--gib`` GiB (default 4) is written to
``--dir``; then a fresh process fits one epoch of a small classifier on it
and predicts it, while a thread samples the process's anonymous memory
(RssAnon: what the data would cost if it were loaded; the file's pages are
the page cache's). The table gives the peak growth over the fit and the
prediction against the data's size. glibc's malloc thresholds are fixed in
the measured process, so that freed buffers are returned and the figure is
the live memory.

Usage::

    python benchmarks/disk_memory.py                 # 4 GiB of each kind (about 25 minutes)
    python benchmarks/disk_memory.py --gib 0.5
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

STEPS, FEATURES = 256, 16
CHUNK = 256  # sequences per chunk (h5py, zarr) and per write


def write(kind, path, n):
    shape = (n, STEPS, FEATURES)
    if kind == "memmap":
        array = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
    elif kind == "h5py":
        import h5py

        f = h5py.File(path, "w")
        array = f.create_dataset("X", shape=shape, dtype=np.float32, chunks=(CHUNK, STEPS, FEATURES))
    else:
        import zarr

        array = zarr.create_array(path, shape=shape, chunks=(CHUNK, STEPS, FEATURES), dtype="float32")
    rng = np.random.default_rng(0)
    for start in range(0, n, CHUNK * 16):
        rows = min(CHUNK * 16, n - start)
        array[start : start + rows] = rng.standard_normal((rows, STEPS, FEATURES), dtype=np.float32)
    if kind == "memmap":
        array.flush()
    elif kind == "h5py":
        f.close()


def measure(kind, path, n):
    """In a fresh process: fit an epoch and predict; print JSON of the growth."""
    import ctypes
    import threading

    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(-3, 2**17)  # M_MMAP_THRESHOLD
    libc.mallopt(-1, 2**17)  # M_TRIM_THRESHOLD
    from sklstm import LSTMSequenceClassifier

    def anon():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("RssAnon"))

    if kind == "memmap":
        X = np.load(path, mmap_mode="r")
    elif kind == "h5py":
        import h5py

        X = h5py.File(path, "r")["X"]
    else:
        import zarr

        X = zarr.open_array(path, mode="r")
    y = np.arange(n) % 2
    params = dict(hidden_size=8, bidirectional=False, conv_channels=None, batch_size=256, max_epochs=1)
    small = np.asarray(X[:512])
    LSTMSequenceClassifier(**params).fit(small, y[:512]).predict(small)  # one-time allocations
    before, peak, done = anon(), [0], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], anon())
            done.wait(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    start = time.perf_counter()
    clf = LSTMSequenceClassifier(**params).fit(X, y)
    fit_s = time.perf_counter() - start
    clf.predict(X)
    done.set()
    watcher.join()
    print(json.dumps({"growth": peak[0] - before, "fit_s": fit_s}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=4.0)
    parser.add_argument("--dir", default=None, help="where to write the arrays (a temporary directory)")
    parser.add_argument("--kinds", default="memmap,h5py,zarr")
    args = parser.parse_args(argv)
    n = int(args.gib * 2**30 // (STEPS * FEATURES * 4))
    size = n * STEPS * FEATURES * 4
    print(f"{n} sequences x {STEPS} steps x {FEATURES} features, float32: {size / 2**30:.2f} GiB each")
    print(f"{'kind':8s} {'data MiB':>9s} {'peak growth MiB':>16s} {'ratio':>7s} {'epoch s':>8s}")
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for kind in args.kinds.split(","):
            path = os.path.join(tmp, {"memmap": "x.npy", "h5py": "x.h5", "zarr": "x.zarr"}[kind])
            write(kind, path, n)
            done = subprocess.run(
                [sys.executable, __file__, "--measure", kind, path, str(n)],
                capture_output=True, text=True, check=True,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            growth = result["growth"]
            print(f"{kind:8s} {size / 2**20:9.0f} {growth / 2**20:16.1f} {growth / size:7.4f} "
                  f"{result['fit_s']:8.1f}")
            subprocess.run(["rm", "-rf", path], check=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--measure":
        measure(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        main()
