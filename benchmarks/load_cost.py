"""Time and memory of ``sklstm.load``: real models of growing size, and crafted files.

The target (issue 16): loading costs time and memory in proportion to the
file, at most about 1 s and 10x the file's bytes plus the model's own size
on the project's 2-core machine, whatever the file says. Each load runs in
a fresh process; the peak of its resident memory is reset before the load
(``/proc/self/clear_refs``), so the growth printed is what the load itself
took. Baselines measured in the same run: ``pickle.loads`` of the same
fitted model (for real models), and the file's size.

The crafted files are those of the red-team catalogue
(``tests/test_load_attacks.py``) that aimed at amplification: with the
loader before the closed schema they cost up to +3.8 GB and 27 s each.

Run: ``python benchmarks/load_cost.py`` (about a minute; Linux only).
"""

import json
import os
import pickle
import subprocess
import sys
import tempfile

import numpy as np
import sklearn
from safetensors.numpy import save_file

import sklstm

CHILD = r"""
import json, pickle, sys, time
import sklstm, torch
path, how = sys.argv[1], sys.argv[2]
torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # torch's one-off imports, not load's
def rss(field):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(field)) * 1024
data = open(path, "rb").read()
results = []
for _ in range(2):  # the first load in a process, then another
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak resident size
    before = rss("VmRSS:")
    start = time.perf_counter()
    try:
        model = pickle.loads(data) if how == "pickle" else sklstm.load(path)
        outcome = "loaded"
    except ValueError as exc:
        outcome = "ValueError: " + str(exc).split(": ", 1)[-1][:60]
    results.append([time.perf_counter() - start, rss("VmHWM:") - before, outcome])
    model = None
print(json.dumps(results))
"""


def measure(path, how="load"):
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), how], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def real_models(folder):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 20, 4)).astype(np.float32)
    y = np.arange(64) % 4
    for hidden in (32, 128, 512):
        clf = sklstm.LSTMSequenceClassifier(
            hidden, max_epochs=1, conv_channels=(hidden, 2 * hidden, hidden), random_state=0
        ).fit(X, y)
        path = os.path.join(folder, f"h{hidden}.safetensors")
        sklstm.save(clf, path)
        pickled = os.path.join(folder, f"h{hidden}.pkl")
        with open(pickled, "wb") as f:
            pickle.dump(clf, f)
        n_weights = sum(p.numel() * p.element_size() for p in clf.net_.module_.parameters())
        yield f"classifier, hidden {hidden}", path, pickled, n_weights


def header(estimator):
    return {"format": "sklstm", "format_version": 1, "sklearn_version": sklearn.__version__,
            "estimator": estimator}


def crafted_files(folder, real):
    """The amplification attacks of issue 16, rebuilt on a real file."""
    with open(real, "rb") as f:
        outer = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    tree = json.loads(outer["__metadata__"]["sklstm"])
    arrays = {k: v for k, v in _tensors(real).items()}

    def write(name, tree, arrays):
        path = os.path.join(folder, name + ".safetensors")
        save_file(arrays, path, metadata={"sklstm": json.dumps(tree)})
        return name, path

    strings = json.loads(json.dumps(tree))
    key = strings["estimator"]["state"]["classes_"]["key"]
    strings["estimator"]["state"]["classes_"] = {
        "~": "strings", "dtype": "<U100000000", "shape": [1], "values": ["a"]}
    yield write("string dtype <U100000000", strings, {k: v for k, v in arrays.items() if k != key})
    scaler = {"~": "estimator", "class": "sklstm.SequenceScaler",
              "params": {"with_mean": [{"~": "array", "key": "big"}] * 1000}, "state": {}}
    yield write("1 MiB tensor referenced 1000 times", header(scaler), {"big": np.zeros(2**18, np.float32)})
    for param, value in [("num_layers", 20000), ("num_layers", 2**63), ("hidden_size", 20000)]:
        changed = json.loads(json.dumps(tree))
        changed["estimator"]["params"][param] = value
        yield write(f"{param}={value}", changed, arrays)
    keys = [i * (2**61 - 1) for i in range(1, 100_000)]
    colliding = {"~": "estimator", "class": "sklstm.LSTMSequenceClassifier", "params": {
        "class_weight": {"~": "dict", "items": [[k, 1.0] for k in keys]}}, "state": {}}
    yield write("hash-colliding dict keys", header(colliding), {})
    deep = header({"~": "estimator", "class": "sklstm.SequenceScaler", "params": {}, "state": {}})
    text = json.dumps(deep).replace('"state": {}', '"state": {"mean_": ' + "[" * 50000 + "]" * 50000 + "}")
    path = os.path.join(folder, "deep.safetensors")
    save_file({}, path, metadata={"sklstm": text})
    yield "JSON nested 50,000 deep", path


def _tensors(path):
    from safetensors.numpy import load_file

    return load_file(path)


def main():
    folder = tempfile.mkdtemp()
    print("Real models: sklstm.load against pickle.loads of the same model, fresh processes")
    print("(load s, first: the first load in a process; the other columns: the next one)")
    print(f"{'model':<24} {'file':>9} {'weights':>9} {'first s':>8} {'load s':>8} {'pickle s':>9} "
          f"{'load +MB':>9} {'pickle +MB':>11} {'+mem / (file + weights)':>24}")
    smallest = None
    for name, path, pickled, n_weights in real_models(folder):
        size = os.path.getsize(path)
        (first, _, _), (seconds, grown, _) = measure(path)
        _, (p_seconds, p_grown, _) = measure(pickled, "pickle")
        smallest = smallest or path
        print(f"{name:<24} {size / 1e6:>7.2f}MB {n_weights / 1e6:>7.2f}MB {first:>8.3f} "
              f"{seconds:>8.3f} {p_seconds:>9.3f} {grown / 1e6:>9.1f} {p_grown / 1e6:>11.1f} "
              f"{grown / (size + n_weights):>24.2f}")
    print()
    print("Crafted files (issue 16, F3/F4), the first load in a process: each must be refused at once")
    print(f"{'file':<36} {'bytes':>10} {'seconds':>8} {'+MB':>7} {'+mem / file':>12}  outcome")
    for name, path in crafted_files(folder, smallest):
        size = os.path.getsize(path)
        (seconds, grown, outcome), _ = measure(path)
        print(f"{name:<36} {size:>10} {seconds:>8.3f} {grown / 1e6:>7.1f} "
              f"{grown / size:>12.1f}  {outcome}")


if __name__ == "__main__":
    main()
