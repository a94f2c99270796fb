"""A red-team catalogue: crafted model files that must not steer sklstm.load.

Each file is built from a real saved model (or from scratch) the way an
attacker would, then loaded in a fresh process (``run_isolated``) whose
memory may grow by at most 1 GiB: a crash, a hang or an allocation beyond
that fails the test instead of the run. The expected outcome of every file
is a ValueError that says what is wrong, raised by ``load`` itself; where a
file could load, ``predict`` and ``partial_fit`` must then work or raise a
ValueError.
"""

import json
import os
import sys
import warnings

import numpy as np
import pytest
import sklearn
from _isolated import run_isolated
from safetensors.numpy import load_file, save_file
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklstm
from sklstm import LSTMSequenceClassifier, LSTMSequenceRegressor

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 6, 2)).astype(np.float32)
Y = np.array([0, 1, 2] * 10)
SMALL = dict(hidden_size=8, max_epochs=1, conv_channels=None, random_state=0)


def read_model(path):
    """The sklstm header (a dict) and tensors of a saved file."""
    with open(path, "rb") as f:
        length = int.from_bytes(f.read(8), "little")
        outer = json.loads(f.read(length))
    return json.loads(outer["__metadata__"]["sklstm"]), load_file(str(path))


def write_model(path, header, arrays):
    save_file(arrays, str(path), metadata={"sklstm": json.dumps(header)})
    return path


def saved(tmp_path, estimator, name="model"):
    path = tmp_path / f"{name}.safetensors"
    sklstm.save(estimator, path)
    return read_model(path)


def load_and_use(path):
    """In the child: load, then predict and train one epoch; report new modules too."""
    before = set(sys.modules)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model = sklstm.load(path)
        finally:
            imported = sorted(set(sys.modules) - before)
        model.predict(X)
        model.partial_fit(X, Y)
    return imported


def load_only(path):
    before = set(sys.modules)
    try:
        sklstm.load(path)
    finally:
        imported = sorted(set(sys.modules) - before)
    return imported


def assert_refused(path, match, use=load_and_use):
    error, message = run_isolated(use, str(path))
    assert error == "ValueError", f"expected a ValueError, got {error}: {message}"
    assert "Traceback" in message and "sklstm/_persist.py" in message.split("Traceback")[1], message
    first_line = message.splitlines()[0]
    assert match.lower() in first_line.lower(), first_line
    return first_line


@pytest.fixture(scope="module")
def classifiers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    models = {}
    for optimizer in ["adam", "adamw", "sgd", "rmsprop"]:
        clf = LSTMSequenceClassifier(**SMALL, optimizer=optimizer).fit(X, Y)
        models[optimizer] = folder / f"{optimizer}.safetensors"
        sklstm.save(clf, models[optimizer])
    return models  # paths: each test reads its own copy


# -- F1: optimizer buffers that a fused step would overrun -------------------------------


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd", "rmsprop"])
def test_shrunk_optimizer_buffers_are_refused_before_torch_sees_them(tmp_path, classifiers, optimizer):
    header, arrays = read_model(classifiers[optimizer])
    state = header["estimator"]["net"]["optimizer"]["items"][0][1]["items"]
    buffers = [value["items"] for _, value in state]
    keys = [v["key"] for pairs in buffers for name, v in pairs if name != "step" and v]
    assert keys  # the control: this optimizer keeps per-parameter buffers
    for key in keys:
        arrays[key] = np.zeros(1, np.float32)
    path = write_model(tmp_path / "shrunk.safetensors", header, arrays)
    assert_refused(path, "optimizer buffer")


def test_grown_retyped_and_negative_step_buffers_are_refused(tmp_path, classifiers):
    header, arrays = read_model(classifiers["adam"])
    entry = dict(header["estimator"]["net"]["optimizer"]["items"][0][1]["items"][0][1]["items"])
    for name, value, match in [
        ("exp_avg", lambda a: np.zeros(a.size + 1, a.dtype), "optimizer buffer"),
        ("exp_avg_sq", lambda a: a.astype(np.float64), "optimizer buffer"),
        ("step", lambda a: np.array(-3.0, np.float32), "not a step count"),
        ("step", lambda a: np.array(np.nan, np.float32), "not a step count"),
    ]:
        changed = dict(arrays)
        key = entry[name]["key"]
        changed[key] = value(arrays[key])
        assert_refused(write_model(tmp_path / "m.safetensors", header, changed), match)


# -- F2: class names that would import modules ------------------------------------------


@pytest.mark.parametrize("name", [
    "sklearn.callback.tests.test_callback_support.X",
    "sklearn.utils.tests.test_pprint.SomeClass",
    "sklearn.linear_model.LogisticRegression",
    "sklearn.feature_extraction.text.CountVectorizer",
    "skorch.NeuralNet",
    "sklstm._base.BaseLSTMSequence",
    "os.system",
    "subprocess.Popen",
])
def test_classes_outside_the_closed_list_are_refused_without_any_import(tmp_path, name):
    header = {
        "format": "sklstm", "format_version": 1, "sklearn_version": sklearn.__version__,
        "estimator": {"~": "estimator", "class": name, "params": {}, "state": {}},
    }
    path = write_model(tmp_path / "m.safetensors", header, {})
    assert_refused(path, "does not build", use=load_only)
    # The same load in a process that records what it imports: nothing.
    assert run_isolated(_imports_of_a_refused_load, str(path)) == (None, [])


def _imports_of_a_refused_load(path):
    before = set(sys.modules)
    try:
        sklstm.load(path)
    except ValueError:
        pass
    return sorted(set(sys.modules) - before)


# -- F3: amplification -------------------------------------------------------------------


def test_a_huge_string_dtype_is_refused(tmp_path, classifiers):
    header, arrays = read_model(classifiers["adam"])
    state = header["estimator"]["state"]
    state["classes_"] = {"~": "strings", "dtype": "<U100000000", "shape": [3], "values": ["a", "b", "c"]}
    classes_key = read_model(classifiers["adam"])[0]["estimator"]["state"]["classes_"]["key"]
    arrays = {k: v for k, v in arrays.items() if k != classes_key}
    assert_refused(write_model(tmp_path / "m.safetensors", header, arrays), "string array")


def test_a_tensor_referenced_many_times_is_refused(tmp_path):
    scaler = sklstm.SequenceScaler().fit(X)
    header, arrays = saved(tmp_path, scaler)
    big = np.zeros(2**18, np.float32)  # 1 MiB
    header["estimator"]["params"]["with_mean"] = [{"~": "array", "key": "big"}] * 1000
    arrays["big"] = big
    assert_refused(write_model(tmp_path / "m.safetensors", header, arrays), "more than once")


@pytest.mark.parametrize("param, value", [
    ("num_layers", 20000), ("num_layers", 2**63), ("hidden_size", 20000),
    ("hidden_size", [8] * 5000), ("conv_channels", {"~": "tuple", "items": [4] * 5000}),
])
def test_architecture_numbers_are_checked_against_the_weights_before_allocation(
    tmp_path, classifiers, param, value
):
    header, arrays = read_model(classifiers["adam"])
    header["estimator"]["params"][param] = value
    if param == "hidden_size" and isinstance(value, list):
        header["estimator"]["params"][param] = {"~": "tuple", "items": value}
    assert_refused(write_model(tmp_path / "m.safetensors", header, arrays), "")


def test_a_regressor_with_a_huge_output_count_is_refused(tmp_path):
    reg = LSTMSequenceRegressor(**SMALL).fit(X, RNG.normal(size=30))
    header, arrays = saved(tmp_path, reg)
    header["estimator"]["state"]["n_outputs_"] = 30_000_000
    assert_refused(write_model(tmp_path / "m.safetensors", header, arrays), "_y_center")


def test_hash_colliding_dict_keys_load_in_linear_time(tmp_path):
    # Ints equal modulo 2**61 - 1 share a hash; past 64 bits a dict of them is quadratic.
    keys = [i * (2**61 - 1) for i in range(1, 50_000)]
    header = {
        "format": "sklstm", "format_version": 1, "sklearn_version": sklearn.__version__,
        "estimator": {"~": "estimator", "class": "sklstm.LSTMSequenceClassifier", "params": {
            "class_weight": {"~": "dict", "items": [[k, 1.0] for k in keys]},
        }, "state": {}},
    }
    assert_refused(write_model(tmp_path / "m.safetensors", header, {}), "64-bit", use=load_only)


# -- F4: malformed files and paths --------------------------------------------------------


def _header(**fields):
    return {"format": "sklstm", "format_version": 1, "sklearn_version": sklearn.__version__,
            "estimator": {"~": "estimator", "class": "sklstm.SequenceScaler", "params": {},
                          "state": {}}, **fields}


def test_malformed_headers_give_value_errors(tmp_path):
    path = tmp_path / "m.safetensors"
    (tmp_path / "inf.safetensors").write_bytes(b"")
    cases = [
        (_header(format_version=float("inf")), "format_version"),
        (_header(format_version="1"), "format_version"),
        (_header(format_version=True), "format_version"),
        (_header(format_version=0), "format_version"),
        (_header(extra=1), "unknown fields"),
        (_header(estimator=5), "where an estimator belongs"),
        (_header(estimator=[1, 2]), "where an estimator belongs"),
        (_header(estimator={"~": "optimizer", "name": "SGD"}), "where an estimator belongs"),
    ]
    for header, match in cases:
        assert_refused(write_model(path, header, {}), match, use=load_only)
    deep = "[" * 5000 + "]" * 5000
    text = json.dumps(_header()).replace('"state": {}', f'"state": {{"mean_": {deep}}}')
    save_file({}, str(path), metadata={"sklstm": text})
    assert_refused(path, "nested", use=load_only)


def _raw_file(path, entries, data=b""):
    header = json.dumps(entries).encode()
    path.write_bytes(len(header).to_bytes(8, "little") + header + data)
    return path


@pytest.mark.parametrize("entries, data, match", [
    ({"a": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, b"\0", "dtype"),
    ({"a": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}, b"\0\0", "dtype"),
    ({"a": {"dtype": "F32", "shape": [2**62, 2**62], "data_offsets": [0, 4]}}, b"\0" * 4, "needs"),
    ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, "shape"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 2**40]}}, b"\0" * 4, "offsets"),
    ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
      "b": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}}, b"\0" * 6, "overlap"),
    ({"a": {"dtype": "F32", "shape": [1]}}, b"\0" * 4, "data_offsets"),
    ([1, 2], b"", "not a JSON object"),
])
def test_malformed_tensor_tables_give_value_errors(tmp_path, entries, data, match):
    assert_refused(_raw_file(tmp_path / "m.safetensors", entries, data), match, use=load_only)


def test_a_header_length_past_the_file_is_refused(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes((2**63).to_bytes(8, "little") + b"{}")
    assert_refused(path, "exceeds the file", use=load_only)


def test_paths_that_are_not_regular_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        sklstm.load(tmp_path / "missing.safetensors")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in [tmp_path, "/dev/null", fifo]:
        assert_refused(path, "not a regular file", use=load_only)  # at once: no wait for a writer


def test_a_file_that_changes_while_read_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    sklstm.save(sklstm.SequenceScaler().fit(X), path)
    size = path.stat().st_size
    real_fstat = os.fstat

    def fstat_then_truncate(fd):  # the file shrinks between fstat and read
        info = real_fstat(fd)
        os.truncate(path, size // 2)
        return info

    monkeypatch.setattr(sklstm._persist.os, "fstat", fstat_then_truncate)
    with pytest.raises(ValueError, match="changed while it was read"):
        sklstm.load(path)


# -- F5: tampered fitted state -----------------------------------------------------------


def test_tampered_fitted_attributes_are_refused(tmp_path, classifiers):
    header, arrays = read_model(classifiers["adam"])
    state = header["estimator"]["state"]
    classes_key = state["classes_"]["key"]
    mean_key, scale_key = state["input_mean_"]["key"], state["input_scale_"]["key"]
    for change, match in [
        (lambda s, a: a.__setitem__(classes_key, np.arange(12).reshape(3, 4)), "classes_"),
        (lambda s, a: a.__setitem__(classes_key, np.array([2, 1, 0])), "sorted and unique"),
        (lambda s, a: a.__setitem__(classes_key, np.array([0, 1, 2, 3])), "head.weight"),
        (lambda s, a: s.__setitem__("predict", 1), "unknown attribute"),
        (lambda s, a: s.__setitem__("__class__", 1), "unknown attribute"),
        (lambda s, a: s.__setitem__("n_features_in_", 3), "input_mean_ is not a float array of shape (3,)"),
        (lambda s, a: s.__setitem__("n_iter_", 7), "history"),
        (lambda s, a: s.__setitem__("_layout", "other"), "_layout"),
        # normalize="auto" chose "both" on this data: the weights read twice the features.
        (lambda s, a: s.__setitem__("normalize_", "per_sequence"), "normalize_"),
        (lambda s, a: s.__setitem__("normalize_", ["both"]), "normalize_"),
        (lambda s, a: s.__setitem__("normalize_", None), "but normalize_ is None"),
        (lambda s, a: a.__setitem__(scale_key, np.zeros_like(a[scale_key])), "not positive"),
        (lambda s, a: a.__setitem__(mean_key, np.full_like(a[mean_key], np.nan)), "NaN"),
        (lambda s, a: a.__setitem__(mean_key, a[mean_key][:1]), "input_mean_"),
        (lambda s, a: s.pop("input_scale_"), "input_scale_"),
        (lambda s, a: s.__setitem__("autocast_", "float16"), "autocast_"),
        (lambda s, a: s.__setitem__("autocast_", ["bfloat16"]), "autocast_"),
        (lambda s, a: s.pop("_dtype"), "part of its fitted attributes"),
    ]:
        s, a = json.loads(json.dumps(state)), dict(arrays)
        change(s, a)
        tampered = {**header, "estimator": {**header["estimator"], "state": s}}
        assert_refused(write_model(tmp_path / "m.safetensors", tampered, a), match)


def test_a_tampered_regressor_scale_is_refused(tmp_path):
    reg = LSTMSequenceRegressor(**SMALL).fit(X, RNG.normal(size=30))
    header, arrays = saved(tmp_path, reg)
    arrays[header["estimator"]["state"]["_y_scale"]["key"]] = np.ones(5)
    assert_refused(write_model(tmp_path / "m.safetensors", header, arrays), "_y_scale")


@pytest.mark.parametrize("param, value, match", [
    ("batch_size", -1, "batch_size"),
    ("lr", "1e-3", "lr"),
    ("optimizer", {"~": "optimizer", "name": "Optimizer"}, "optimizer"),
    ("optimizer", {"~": "optimizer", "name": "lr_scheduler"}, "optimizer"),
    ("optimizer", {"~": "optimizer", "name": "SparseAdam"}, "optimizer"),
    ("callbacks", ["print"], "callbacks"),
    ("early_stopping", True, "validation_fraction"),
    ("lstm_stride", 0, "lstm_stride"),
    ("lstm_stride", 2**30, "lstm_stride=1073741824 exceeds"),  # ONNX would trace it
    ("bptt_window", 0, "bptt_window"),
    ("tol", -1.0, "tol"),
    ("no_such_parameter", 1, "no parameter"),
])
def test_invalid_parameters_are_refused_at_load_not_at_training(tmp_path, classifiers, param, value, match):
    header, arrays = read_model(classifiers["adam"])
    header["estimator"]["params"][param] = value
    assert_refused(write_model(tmp_path / "m.safetensors", header, arrays), match)


# -- F6: parameters that reach outside the file --------------------------------------


def test_a_pipeline_cache_directory_is_refused(tmp_path):
    pipe = make_pipeline(StandardScaler(), LSTMSequenceClassifier(**SMALL)).fit(X[:, :, 0], Y)
    header, arrays = saved(tmp_path, pipe)
    header["estimator"]["params"]["memory"] = str(tmp_path)
    assert_refused(write_model(tmp_path / "m.safetensors", header, arrays), "memory", use=load_only)


def test_saving_refuses_what_loading_would_refuse(tmp_path):
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(TypeError, match="builds only sklstm's estimators"):
        sklstm.save(LogisticRegression(), tmp_path / "m.safetensors")
    scaler = StandardScaler().fit(X[:, :, 0])
    scaler.extra_ = 1
    with pytest.raises(TypeError, match="extra_"):
        sklstm.save(scaler, tmp_path / "m.safetensors")


# -- F7/F8: leftovers and text from the file ------------------------------------------


def test_unreferenced_tensors_are_refused(tmp_path, classifiers):
    header, arrays = read_model(classifiers["adam"])
    arrays["hidden"] = np.zeros(3)
    assert_refused(write_model(tmp_path / "m.safetensors", header, arrays), "nothing refers to")


def test_text_from_the_file_is_escaped_in_messages_and_warnings(tmp_path):
    evil = "9.9\n\x1b[31mINJECTED\x1b[0m"
    path = write_model(tmp_path / "m.safetensors", _header(sklearn_version=evil), {})
    with pytest.warns(UserWarning) as record:
        sklstm.load(path)
    assert "\x1b" not in str(record[0].message) and "\n" not in str(record[0].message)
    path = write_model(tmp_path / "m.safetensors", _header(format_version=2, sklstm_version=evil), {})
    with pytest.raises(ValueError, match="Upgrade") as info:
        sklstm.load(path)
    assert "\x1b" not in str(info.value) and "\\x1b" in str(info.value)
    header = _header()
    header["estimator"]["class"] = evil
    with pytest.raises(ValueError, match="does not build") as info:
        sklstm.load(write_model(tmp_path / "m.safetensors", header, {}))
    assert "\x1b" not in str(info.value)


# -- the controls: real files load, in the same isolated way -----------------------------


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd", "rmsprop"])
def test_the_untampered_files_load_and_train(tmp_path, classifiers, optimizer):
    path = write_model(tmp_path / "m.safetensors", *read_model(classifiers[optimizer]))
    assert run_isolated(load_and_use, str(path))[0] is None


def test_tampered_lbfgs_state_is_refused(tmp_path):
    import torch

    clf = LSTMSequenceClassifier(**{**SMALL, "optimizer": torch.optim.LBFGS}).fit(X, Y)
    header, arrays = saved(tmp_path, clf)
    entry = dict(header["estimator"]["net"]["optimizer"]["items"][0][1]["items"][0][1]["items"])
    assert len(entry["old_dirs"]) > 0  # the control: a curvature history to tamper with
    shrunk = dict(arrays, **{entry["d"]["key"]: np.zeros(1, np.float32)})
    assert_refused(write_model(tmp_path / "d.safetensors", header, shrunk), "'d'")
    for name in ("old_dirs", "ro"):
        changed = json.loads(json.dumps(header))
        items = changed["estimator"]["net"]["optimizer"]["items"][0][1]["items"][0][1]["items"]
        for pair in items:
            if pair[0] == name:
                pair[1] = pair[1][:-1]  # one pair fewer than its partner lists
        leftover = {k: v for k, v in arrays.items() if k in _keys(changed)}
        assert_refused(write_model(tmp_path / "l.safetensors", changed, leftover), "")


def _keys(tree):
    if isinstance(tree, dict):
        return ({tree["key"]} if "key" in tree else set()).union(*map(_keys, tree.values()))
    if isinstance(tree, list):
        return set().union(*map(_keys, tree))
    return set()


@pytest.mark.parametrize("scaler, param, value", [
    ("MinMaxScaler", "feature_range", [2, 1]),
    ("RobustScaler", "quantile_range", [25.0, 175.0]),
    ("StandardScaler", "with_mean", "yes"),
])
def test_tampered_sklearn_scaler_parameters_are_refused(tmp_path, scaler, param, value):
    import sklearn.preprocessing

    fitted = getattr(sklearn.preprocessing, scaler)().fit(X[:, :, 0])
    header, arrays = saved(tmp_path, fitted)
    header["estimator"]["params"][param] = {"~": "tuple", "items": value} if isinstance(value, list) else value
    assert_refused(write_model(tmp_path / "m.safetensors", header, arrays), param, use=load_only)


@pytest.mark.parametrize("scaler", ["StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler"])
def test_sklearn_scaler_state_of_the_wrong_width_is_refused(tmp_path, scaler):
    import sklearn.preprocessing

    fitted = getattr(sklearn.preprocessing, scaler)().fit(X[:, :, 0])
    header, arrays = saved(tmp_path, fitted)
    key = header["estimator"]["state"]["scale_"]["key"]
    arrays[key] = arrays[key][:-1].copy()
    assert_refused(write_model(tmp_path / "m.safetensors", header, arrays), "scale_", use=load_only)
