"""Mutation fuzzing of real model files: each mutant loads and works, or is refused cleanly.

For every kind of estimator ``sklstm.save`` writes, a real fitted model is
saved, then mutated one change at a time:

- every tensor shrunk, grown, retyped and made 0-d;
- every JSON value of the header (parameters, fitted attributes, weights'
  and optimizer's entries, history, versions) replaced by values of other
  types, huge numbers, NaN, deep nesting, text with terminal escapes,
  references to tensors and nested estimators (two per value, in a fixed
  rotation, so that every replacement meets every part of the file).

Each mutant is loaded; where it loads, it must predict (or transform) with
outputs of the right shape and values, and ``partial_fit`` must work or
raise ValueError / TypeError. Anything else (another exception type, a
crash, a hang, memory beyond 1 GiB) fails. A kind's mutants run in one
fresh process (``run_isolated``). ``MIN_MUTANTS`` bounds how many the suite
tries from below; the test prints the count when pytest runs in one
process (``pytest -n 0``: workers' output is not shown).
"""

import json
import math
import os
import tempfile
import warnings

import numpy as np
import pandas as pd
import pytest
from _isolated import run_isolated
from safetensors.numpy import load_file, save_file
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler

import sklstm
from sklstm import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    SequenceScaler,
    SlidingWindowTransformer,
)

X = np.random.default_rng(0).normal(size=(24, 5, 2)).astype(np.float32)
Y = np.array([0, 1, 2] * 8)
LSTM = dict(hidden_size=3, max_epochs=1, batch_size=16, random_state=0)


def _models():
    labels = np.array(["a", "b", "c"])[Y]
    table = pd.DataFrame(X[:, :, 0], columns=[f"t{i}" for i in range(X.shape[1])])
    return {
        "classifier (adam, convolutions)": (
            LSTMSequenceClassifier(conv_channels=(2,), **LSTM).fit(X, Y), X, Y),
        "classifier (sgd, table, names)": (
            LSTMSequenceClassifier(optimizer="sgd", bidirectional=False, pooling="last",
                                   conv_channels=None, **LSTM).fit(table, labels), table, labels),
        "classifier (rmsprop, float64, weights)": (
            LSTMSequenceClassifier(optimizer="rmsprop", dtype="float64", conv_channels=None,
                                   class_weight={0: 2.0, 1: 1.0, 2: 1.0},
                                   **LSTM).fit(list(X), Y), list(X), Y),
        "regressor (two outputs)": (
            LSTMSequenceRegressor(**LSTM).fit(X, np.c_[Y, -Y] * 1.5), X, np.c_[Y, -Y] * 1.5),
        "sequence scaler": (SequenceScaler().fit(X), X, None),
        "window transformer": (SlidingWindowTransformer(3).fit(X[0]), X[0], None),
        "pipeline of scalers": (
            make_pipeline(StandardScaler(), MinMaxScaler(), MaxAbsScaler(), RobustScaler(),
                          LSTMSequenceClassifier(conv_channels=None, **LSTM)).fit(X[:, :, 0], Y),
            X[:, :, 0], Y),
        "unfitted classifier": (LSTMSequenceClassifier(hidden_size=(3, 2), max_epochs=1), X, Y),
    }


KINDS = list(_models())
MIN_MUTANTS = 4500  # over all kinds

# What replaces a JSON value: other types, extremes, escapes, nesting, references.
REPLACEMENTS = [
    None, True, -1, 0, 2**63, 10**400, 1e308, float("nan"), float("-inf"), "x",
    "\x1b[31m\n", [], {}, json.loads("[" * 100 + "]" * 100),
    {"~": "array", "key": "a0"}, {"~": "tuple", "items": [1, 2]},
    {"~": "strings", "dtype": "<U5", "shape": [2], "values": ["abc"]},
    {"~": "estimator", "class": "sklstm.SequenceScaler", "params": {}, "state": {}},
    {"~": "optimizer", "name": "SGD"}, {"~": "dict", "items": [[1, 2], [1.0, 3]]},
]
PER_VALUE = 2


def test_mutants_of_every_saved_kind_load_cleanly_or_are_refused(capsys):
    total, failed = 0, []
    for kind in KINDS:
        error, outcome = run_isolated(fuzz_kind, kind, timeout=600)
        assert error is None, f"{kind}: {error}: {outcome}"
        tried, loaded, failures = outcome
        failed += [f"{kind}: {failure}" for failure in failures]
        assert loaded >= 1  # the unmutated file is among them
        total += tried
        with capsys.disabled():
            print(f"\n{kind}: {tried} mutants, {loaded} loaded, {tried - loaded} refused", end="")
    with capsys.disabled():
        print(f"\nload fuzzing: {total} mutated files in all")
    assert not failed, f"{len(failed)} mutants failed:\n" + "\n".join(failed[:20])
    assert total >= MIN_MUTANTS


def fuzz_kind(kind):
    """In the child: save the kind's model, then load and use each mutant."""
    model, X_use, y_use = _models()[kind]
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "model.safetensors")
    sklstm.save(model, path)
    with open(path, "rb") as f:
        outer = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    header, arrays = json.loads(outer["__metadata__"]["sklstm"]), load_file(path)
    tried = loaded = 0
    failures = []
    for what, mutant_header, mutant_arrays in _mutants(header, arrays):
        tried += 1
        save_file(mutant_arrays, path, metadata={"sklstm": json.dumps(mutant_header)})
        try:
            loaded += _load_and_use(path, X_use, y_use)
        except Exception as exc:  # noqa: BLE001 - the point: report any other type
            failures.append(f"{what}: {type(exc).__name__}: {str(exc)[:300]}")
    return tried, loaded, failures


def _load_and_use(path, X_use, y_use):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = sklstm.load(path)
        except ValueError as exc:
            assert str(exc).strip()
            return 0
        _check_use(model, X_use, y_use)
    return 1


def _check_use(model, X_use, y_use):
    """Predictions of the right shape and values, then one more epoch, or a clean error."""
    try:
        if hasattr(model, "predict"):
            predicted = model.predict(X_use)
            assert len(predicted) == len(X_use)
            if hasattr(model, "classes_") or hasattr(model, "predict_proba"):
                assert np.isin(predicted, model.classes_).all()
                proba = model.predict_proba(X_use)
                assert np.allclose(proba.sum(axis=1), 1)
            else:
                assert np.isfinite(predicted).all()
        else:
            out = model.transform(X_use)
            assert len(out) == len(X_use)
        if hasattr(model, "partial_fit"):
            model.partial_fit(X_use, y_use)
            assert len(model.predict(X_use)) == len(X_use)
    except (ValueError, TypeError) as exc:
        assert str(exc).strip()


def _mutants(header, arrays):
    yield "unchanged", header, arrays
    for key, array in arrays.items():
        for name, changed in _tensor_changes(array):
            yield f"tensor {key} {name}", header, {**arrays, key: changed}
    for index, (where, replace) in enumerate(_json_slots(header)):
        for j in range(PER_VALUE):
            value = REPLACEMENTS[(PER_VALUE * index + j) % len(REPLACEMENTS)]
            yield f"{where} = {str(value)[:20]}", replace(value), arrays


def _tensor_changes(array):
    flat = array.reshape(-1)
    yield "shrunk", flat[:-1].copy() if flat.size else np.zeros(0, array.dtype)
    yield "grown", np.concatenate([flat, flat[:1] if flat.size else np.zeros(1, array.dtype)])
    other = np.float32 if array.dtype != np.float32 else np.float64
    yield "retyped", array.astype(other)
    yield "0-d", np.array(flat[0] if flat.size else 0, array.dtype)
    if array.ndim >= 2:
        yield "transposed", np.ascontiguousarray(array.reshape(array.shape[::-1]))


def _json_slots(tree, path=()):
    """(where, replace) for every value in ``tree``; ``replace(v)`` returns a changed copy."""
    root = tree

    def walk(node, path):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, child in list(items):
            here = path + (key,)
            yield "/".join(map(str, here)), _replacer(root, here)
            if isinstance(child, (dict, list)):
                yield from walk(child, here)

    return list(walk(tree, path))


def _replacer(root, path):
    def replace(value):
        copy = json.loads(json.dumps(root))
        node = copy
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return copy

    return replace


def test_replacements_cover_what_the_issue_names():
    kinds = {type(v).__name__ for v in REPLACEMENTS}
    assert {"NoneType", "bool", "int", "float", "str", "list", "dict"} <= kinds
    assert any(isinstance(v, float) and math.isnan(v) for v in REPLACEMENTS)
    assert any(isinstance(v, int) and v > 2**64 for v in REPLACEMENTS)
    assert max(_depth(v) for v in REPLACEMENTS) > 64  # past load's nesting limit


def _depth(value):
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_round_trips_exactly(tmp_path, kind):
    model, X_use, _ = _models()[kind]
    sklstm.save(model, tmp_path / "m.safetensors")
    loaded = sklstm.load(tmp_path / "m.safetensors")
    assert loaded.get_params(deep=False).keys() == model.get_params(deep=False).keys()
    if kind.startswith("unfitted"):
        return
    if hasattr(model, "predict_proba"):
        np.testing.assert_array_equal(loaded.predict_proba(X_use), model.predict_proba(X_use))
    elif hasattr(model, "predict"):
        np.testing.assert_array_equal(loaded.predict(X_use), model.predict(X_use))
    else:
        np.testing.assert_array_equal(loaded.transform(X_use), model.transform(X_use))
