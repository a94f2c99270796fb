"""Property-based tests: malformed input gets a ValueError or TypeError, nothing else.

Each test draws inputs with hypothesis (derandomized, so CI sees the same
ones every run) and calls a public function with them. A call either
succeeds or raises ValueError / TypeError with a message; any other
exception type fails the test. The number of inputs each test tries is its
``max_examples``; ``N_INPUTS`` sums them.
"""

import json
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from safetensors.numpy import save_file
from skorch.callbacks import EpochScoring

import sklstm
from sklstm import (
    LSTMSequenceClassifier,
    LSTMSequenceRegressor,
    SequenceScaler,
    SlidingWindowTransformer,
)

EXAMPLES = {
    "fit_params": 60, "fit_X_y": 120, "regressor": 80, "predict": 120, "transformers": 120,
    "load": 80,
}
N_INPUTS = sum(EXAMPLES.values())


def fuzz(name):
    return settings(
        max_examples=EXAMPLES[name], deadline=None, derandomize=True, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def expect_clean_outcome(call, *args, **kwargs):
    """Run ``call``; only success or a ValueError / TypeError with a message passes."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return call(*args, **kwargs)
        except (ValueError, TypeError) as exc:
            assert str(exc).strip(), f"{type(exc).__name__} without a message"
    return None


# -- strategies --------------------------------------------------------------------

floats = st.floats(allow_nan=True, allow_infinity=True, width=32)
shapes = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5)
numeric_arrays = st.one_of(
    hnp.arrays(np.float32, shapes, elements=floats),
    hnp.arrays(np.float64, shapes, elements=st.floats(-1e6, 1e6)),
    hnp.arrays(np.int64, shapes, elements=st.integers(-5, 5)),
    hnp.arrays(np.bool_, shapes),
    hnp.arrays(np.complex64, shapes, elements=st.complex_numbers(max_magnitude=5, width=64)),
)
odd_arrays = st.one_of(
    hnp.arrays(np.dtype("U3"), shapes),
    hnp.arrays(np.dtype("datetime64[s]"), shapes, elements=st.integers(0, 10**6).map(lambda n: np.datetime64(n, "s"))),
    hnp.arrays(object, shapes, elements=st.one_of(st.none(), floats, st.text(max_size=2))),
)
sequence_lists = st.lists(
    st.one_of(
        hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
                   elements=st.floats(-10, 10)),
        st.lists(st.one_of(floats, st.text(max_size=1), st.none()), max_size=5),
    ),
    max_size=6,
)
junk = st.one_of(
    st.none(), floats, st.integers(), st.text(max_size=5), st.dictionaries(st.text(max_size=2), floats, max_size=2),
    st.just(sp.csr_matrix(np.eye(4))), st.just(torch.ones(3, 4, 2)), st.just(object()),
)


@st.composite
def near_valid_X(draw):
    """Well-formed sequences in one of the layouts, with at most one fault."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n, steps, features = draw(st.integers(3, 12)), draw(st.integers(1, 6)), draw(st.integers(1, 3))
    layout = draw(st.sampled_from(["3d", "2d", "ragged", "ragged1d"]))
    if layout == "3d":
        X = rng.normal(size=(n, steps, features))
    elif layout == "2d":
        X = rng.normal(size=(n, steps))
    else:
        lengths = rng.integers(1, steps + 2, size=n)
        X = [rng.normal(size=(k, features) if layout == "ragged" else k) for k in lengths]
    fault = draw(st.sampled_from(
        ["none", "none", "nan", "inf", "huge", "empty", "zero_length", "features", "strings", "float16", "int", "4d", "column"]
    ))
    first = X[0] if isinstance(X, list) else X
    if fault in ("nan", "inf", "huge"):
        first.flat[draw(st.integers(0, first.size - 1))] = {"nan": np.nan, "inf": -np.inf, "huge": 1e300}[fault]
    elif fault == "empty":
        X = X[:0]
    elif fault == "zero_length" and isinstance(X, list):
        X[-1] = X[-1][:0]
    elif fault == "features" and isinstance(X, list):
        X[-1] = np.ones((3, features + 1))
    elif fault == "strings":
        X = np.asarray(X if not isinstance(X, list) else X[0]).astype(str)
    elif fault in ("float16", "int"):
        X = np.asarray(X if not isinstance(X, list) else X[0]).astype(np.float16 if fault == "float16" else np.int64)
    elif fault == "4d" and not isinstance(X, list):
        X = X[..., None, None]
    elif fault == "column" and not isinstance(X, list):
        X = X.reshape(len(X), -1)[:, :1]
    return X


@st.composite
def near_valid_y(draw, n=None):
    """Labels for ``n`` sequences (or a random count), with at most one fault."""
    n = draw(st.integers(0, 14)) if n is None else n
    kind = draw(st.sampled_from(["int", "str", "float", "bool", "one_class", "nan", "mixed", "2d", "column", "continuous"]))
    values = [draw(st.integers(0, 2)) for _ in range(n)]
    if kind == "str":
        return np.array(["a", "b", "c"])[values]
    if kind == "float":
        return np.asarray(values, dtype=float)
    if kind == "bool":
        return np.asarray(values) > 0
    if kind == "one_class":
        return np.zeros(n, dtype=int)
    if kind == "nan":
        return np.where(np.arange(n) == 0, np.nan, values)
    if kind == "mixed":
        return [str(v) if i % 2 else v for i, v in enumerate(values)]
    if kind == "2d":
        return np.stack([values, values], axis=1) if n else np.zeros((0, 2))
    if kind == "column":
        return np.asarray(values)[:, None]
    if kind == "continuous":
        return np.linspace(0, 1, n) + 0.123
    return np.asarray(values)


any_X = st.one_of(near_valid_X(), near_valid_X(), numeric_arrays, odd_arrays, sequence_lists, junk)
any_y = st.one_of(
    near_valid_y(),
    hnp.arrays(st.sampled_from([np.int64, np.float64, np.bool_, np.dtype("U2")]),
               hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=12)),
    st.lists(st.one_of(st.integers(0, 2), st.text(max_size=1), floats, st.none()), max_size=12),
    junk,
)

param_values = {
    "hidden_size": st.one_of(st.integers(-2, 6), st.tuples(st.integers(-1, 4)), st.lists(st.integers(0, 4), max_size=2), st.floats(0, 5), st.text(max_size=2), st.none(), st.booleans()),
    "num_layers": st.one_of(st.integers(-1, 2), st.floats(0, 2), st.none()),
    "bidirectional": st.one_of(st.booleans(), st.integers(-1, 2), st.text(max_size=2)),
    "dropout": st.one_of(floats, st.none()),
    "conv_channels": st.one_of(st.none(), st.tuples(st.integers(-1, 4)), st.lists(st.integers(0, 3), max_size=3), st.integers(0, 3), st.text(max_size=1)),
    "pooling": st.sampled_from(["last", "mean", "max", "mean_max", "attention", "", None, 3]),
    "optimizer": st.sampled_from(["adam", "adamw", "rmsprop", "sgd", "lbfgs", None, torch.optim.Adagrad, int, torch.nn.Linear]),
    "lr": st.one_of(floats, st.integers(-1, 1), st.text(max_size=1), st.just(1e30)),
    "weight_decay": st.one_of(floats, st.none()),
    "batch_size": st.one_of(st.integers(-1, 40), st.floats(0, 40), st.none()),
    "max_epochs": st.one_of(st.integers(-1, 2), st.floats(0, 2), st.none(), st.sampled_from(["Auto", "", "auto "])),
    "lr_schedule": st.sampled_from(["cosine", "plateau", "constant", "linear", None, 0]),
    "dtype": st.sampled_from(["float32", "float64", "float16", "int64", np.float32, None]),
    "gradient_clip": st.one_of(floats, st.none(), st.text(max_size=1)),
    "validation_fraction": st.one_of(st.floats(-0.5, 1.5), st.none(), st.just(0.01), st.just(0.99)),
    "early_stopping": st.one_of(st.booleans(), st.integers(0, 2)),
    "n_iter_no_change": st.one_of(st.integers(-1, 3), st.none()),
    "class_weight": st.one_of(st.none(), st.sampled_from(["balanced", "auto"]), st.dictionaries(st.integers(-1, 3), floats, max_size=3)),
    "device": st.sampled_from(["cpu", "auto", "cuda", "tpu", None, 0]),
    "callbacks": st.one_of(st.none(), st.just([]), st.just(["not a callback"]), st.just(3), st.just([("score", EpochScoring("accuracy"))])),
    "random_state": st.one_of(st.none(), st.integers(-1, 3), st.text(max_size=1)),
    "warm_start": st.one_of(st.booleans(), st.text(max_size=1)),
}
# One to three parameters set per example, each to a valid or an invalid value.
params = st.lists(
    st.sampled_from(sorted(param_values)).flatmap(
        lambda name: param_values[name].map(lambda value: (name, value))
    ),
    min_size=1, max_size=3,
).map(dict)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 5, 2)).astype(np.float32)
    y = np.array([0, 1, 2] * 8)
    return X, y


@pytest.fixture(scope="module")
def fitted(data):
    X, y = data
    ragged = [x[: 2 + i % 4] for i, x in enumerate(X)]
    return (
        LSTMSequenceClassifier(4, max_epochs=1, random_state=0).fit(X, y),
        LSTMSequenceClassifier(4, max_epochs=1, random_state=0).fit(ragged, y),
        LSTMSequenceClassifier(4, max_epochs=1, random_state=0).fit(X[:, :, 0], y),
    )


# -- the properties ------------------------------------------------------------------

@fuzz("fit_params")
@given(params=params)
def test_fit_with_any_parameters(data, params):
    X, y = data
    # One epoch unless drawn ("auto" trains 2000 steps, unless it is drawn).
    clf = LSTMSequenceClassifier(max_epochs=1).set_params(**params)
    clf = expect_clean_outcome(clf.fit, X, y)
    if clf is not None:  # a fit that succeeds predicts probabilities, or says why not
        proba = expect_clean_outcome(clf.predict_proba, X)
        if proba is not None:
            assert proba.shape == (len(X), 3) and np.allclose(proba.sum(axis=1), 1)


@fuzz("fit_X_y")
@given(X=any_X, y=any_y, matching=st.booleans(), data=st.data())
def test_fit_with_any_X_and_y(X, y, matching, data):
    if matching:  # as many labels as sequences, so that the fault is in X or y alone
        try:
            y = data.draw(near_valid_y(len(X)))
        except TypeError:  # X has no length
            pass
    clf = expect_clean_outcome(LSTMSequenceClassifier(4, max_epochs=1, batch_size=4).fit, X, y)
    if clf is not None:
        assert np.all(np.isfinite(clf.predict_proba(X)))


@fuzz("regressor")
@given(
    X=any_X, y=any_y, matching=st.booleans(), data=st.data(),
    loss=st.sampled_from(["squared_error", "absolute_error", "huber", "hinge", None]),
)
def test_regressor_fit_with_any_X_y_and_loss(X, y, matching, data, loss):
    if matching:
        try:
            y = data.draw(near_valid_y(len(X)))
        except TypeError:
            pass
    reg = LSTMSequenceRegressor(4, loss=loss, max_epochs=1, batch_size=4)
    reg = expect_clean_outcome(reg.fit, X, y)
    if reg is not None:
        assert np.all(np.isfinite(reg.predict(X)))


@fuzz("predict")
@given(X=any_X, which=st.integers(0, 2), method=st.sampled_from(["predict", "predict_proba", "score"]))
def test_predict_with_any_X(fitted, data, X, which, method):
    clf = fitted[which]
    if method == "score":
        try:
            y = data[1][: len(X)]
        except TypeError:  # no length (scalars, 0-d arrays, sparse matrices)
            y = data[1]
        expect_clean_outcome(clf.score, X, y)
    else:
        expect_clean_outcome(getattr(clf, method), X)


def mostly(valid, invalid):
    """Valid values three times in four, so that later checks are reached too."""
    choice = st.tuples(st.integers(0, 3), valid, invalid)
    return choice.map(lambda drawn: drawn[2] if drawn[0] == 3 else drawn[1])


@fuzz("transformers")
@given(
    X=st.one_of(any_X, near_valid_X().map(lambda X: X[0] if isinstance(X, list) else X)),
    which=st.sampled_from(["scaler", "windows"]),
    window_size=mostly(st.integers(1, 6), st.one_of(st.integers(-1, 0), st.floats(0, 4), st.none(), st.text(max_size=1))),
    padding=mostly(st.sampled_from(["edge", "constant"]), st.sampled_from(["wrap", None, 1])),
    fill_value=mostly(st.floats(-5, 5), st.one_of(floats, st.text(max_size=1))),
    with_mean=mostly(st.booleans(), st.one_of(st.integers(0, 2), st.none())),
)
def test_transformers_with_any_X_and_parameters(X, which, window_size, padding, fill_value, with_mean):
    if which == "scaler":
        transformer = SequenceScaler(with_mean=with_mean)
    else:
        transformer = SlidingWindowTransformer(window_size, padding=padding, fill_value=fill_value)
    fitted = expect_clean_outcome(transformer.fit, X)
    if fitted is not None:
        expect_clean_outcome(fitted.transform, X)


@fuzz("load")
@given(
    content=st.one_of(
        st.binary(max_size=200),
        st.builds(lambda n, rest: n.to_bytes(8, "little") + rest, st.integers(0, 2**64 - 1), st.binary(max_size=100)),
    ),
    header=st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8), floats),
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.dictionaries(st.sampled_from(["~", "class", "params", "state", "items", "key", "name", "net"]), children, max_size=4),
        ),
        max_leaves=12,
    ),
)
def test_load_of_any_file(tmp_path_factory, content, header):
    folder = tmp_path_factory.mktemp("load")
    raw = folder / "raw.safetensors"
    raw.write_bytes(content)
    expect_clean_outcome(sklstm.load, raw)
    crafted = folder / "crafted.safetensors"
    tree = {"format": "sklstm", "format_version": 1, "estimator": header}
    save_file({"a0": np.zeros(2)}, str(crafted), metadata={"sklstm": json.dumps(tree)})
    expect_clean_outcome(sklstm.load, crafted)
