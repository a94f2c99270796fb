"""The UCR/UEA/TSER ``.ts`` files that aeon and sktime ship inside their wheels.

The wheels are fetched once with ``pip download --no-deps`` into
``benchmarks/.cache`` and read as zip files: neither package is installed
(both pin ``pandas<3.1``, which the project's pinned pandas is not).
"""

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from sklstm.datasets._ts import read_ts

CACHE = Path(__file__).parent / ".cache"
WHEELS = {"aeon": "1.6.0", "sktime": "1.2.0"}


def wheel(package):
    """The path of ``package``'s wheel (fetched into the cache once)."""
    version = WHEELS[package]
    found = sorted(CACHE.glob(f"{package}-{version}-*.whl"))
    if not found:
        print(f"fetching {package}=={version}'s wheel for its data files into {CACHE} ...",
              flush=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--dest", str(CACHE), f"{package}=={version}"],
            check=True,
        )
        found = sorted(CACHE.glob(f"{package}-{version}-*.whl"))
    return found[0]


def load_ts(package, name):
    """Return ``X_train, X_test, y_train, y_test`` of a data set in ``package``'s wheel.

    Sequences come as one 3D array when all are equally long, else as a
    list; the targets as the strings the file holds.
    """
    with zipfile.ZipFile(wheel(package)) as archive:
        parts = [
            read_ts(archive.read(f"{package}/datasets/data/{name}/{name}_{split}.ts").decode())
            for split in ("TRAIN", "TEST")
        ]
    (X_train, y_train), (X_test, y_test) = parts
    if len({len(x) for x in X_train + X_test}) == 1:
        X_train, X_test = np.stack(X_train), np.stack(X_test)
    return X_train, X_test, y_train, y_test
