"""Run a benchmark's contender in a fresh process, possibly of another environment.

The parent writes the data to a temporary ``.npz`` file and runs
``python script --worker NAME PATH SEED THREADS``; the worker prints one
JSON line. Ragged sequences travel packed (their steps stacked, plus their
lengths). This module needs numpy only: it is imported by workers in the
peers' environment, which has no torch or sklstm.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

PEERS_PYTHON = Path(__file__).parent / ".peers" / "bin" / "python"


def run_worker(script, name, data, seed, threads, peers=True, extra=()):
    """Run ``script``'s worker ``name`` on ``data`` (a dict of arrays or lists); its JSON.

    ``extra``: more command-line arguments for the worker, after the threads.
    """
    python = PEERS_PYTHON if peers else Path(sys.executable)
    if not python.exists():
        raise SystemExit(f"{python} is missing: run `make peers` first.")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "data.npz"
        np.savez(path, **{k: v for key, value in data.items() for k, v in _pack(key, value)})
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads)}
        done = subprocess.run(
            [str(python), str(script), "--worker", name, str(path), str(seed), str(threads),
             *extra],
            capture_output=True, text=True, env=env,
        )
    if done.returncode:
        raise RuntimeError(f"worker {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def load_data(path):
    """The worker's side: ``{key: 3D array, list of 2D arrays or array}``."""
    with np.load(path) as arrays:
        data = {}
        for key in arrays.files:
            if key.endswith("@lengths"):
                continue
            if key.endswith("@steps"):
                base = key[: -len("@steps")]
                ends = np.cumsum(arrays[base + "@lengths"])
                data[base] = np.split(arrays[key], ends[:-1])
            else:
                data[key] = arrays[key]
    return data


def pad(sequences, front=False):
    """A zero-padded 3D array of a list of 2D sequences (Keras pads in front by default)."""
    if isinstance(sequences, np.ndarray):
        return sequences
    longest = max(len(x) for x in sequences)
    out = np.zeros((len(sequences), longest, sequences[0].shape[1]), dtype=np.float32)
    for i, x in enumerate(sequences):
        if front:
            out[i, longest - len(x):] = x
        else:
            out[i, : len(x)] = x
    return out


def _pack(key, value):
    if isinstance(value, list):
        yield key + "@steps", np.concatenate(value)
        yield key + "@lengths", np.array([len(x) for x in value])
    else:
        yield key, np.asarray(value)
