"""Bad input gets a ValueError or TypeError that says what is wrong.

Input shared by both estimators (sequences, weights, parameters) is tested
on each; class labels on the classifier.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from _tasks import outputs, targets

from sklstm import LSTMSequenceClassifier

FAST = dict(hidden_size=4, max_epochs=1, random_state=0)
RNG = np.random.RandomState(0)
X3 = RNG.normal(size=(10, 6, 2)).astype(np.float32)
Y = np.arange(10) % 2
RAGGED = [RNG.normal(size=(3 + i, 2)) for i in range(10)]


OBJECT_3D = X3.astype(object)
OBJECT_3D[0, 0, 0] = {"a": 1}


def _with(array, index, value):
    array = np.array(array, dtype=np.float64)
    array[index] = value
    return array


BAD_X = [
    (_with(X3, (1, 2, 0), np.nan), ValueError, "NaN"),
    (_with(X3, (1, 2, 0), np.inf), ValueError, "infinity"),
    (_with(X3, (1, 2, 0), 1e39), ValueError, "infinity or a value too large"),
    (_with(X3[:, :, 0], (0, 0), np.nan), ValueError, "NaN"),
    ([*RAGGED[:4], _with(RAGGED[4], (1, 1), np.nan), *RAGGED[5:]], ValueError,
     r"NaN.*sequence 4"),
    (X3[:, :, 0].ravel()[:10], ValueError, "1 dimension"),
    (X3[:, :, :, None], ValueError, "4 dimension"),
    (np.empty((0, 6, 2)), ValueError, "0 sample"),
    (np.empty((10, 0, 2)), ValueError, "length 0"),
    (np.empty((10, 6, 0)), ValueError, "0 features"),
    ([], ValueError, "empty|0 sample"),
    ([*RAGGED[:3], np.empty((0, 2)), *RAGGED[4:]], ValueError, "Sequence 3 has length 0"),
    ([*RAGGED[:3], np.empty((4, 0)), *RAGGED[4:]], ValueError, "0 features"),
    ([*RAGGED[:3], RNG.normal(size=(4, 3)), *RAGGED[4:]], ValueError,
     "Sequence 3 has 3 features.*sequence 0 has 2"),
    ([*RAGGED[:3], RNG.normal(size=(4, 2, 2)), *RAGGED[4:]], ValueError, "3 dimensions"),
    ([*RAGGED[:3], 5.0, *RAGGED[4:]], ValueError, "0 dimensions"),
    (sp.csr_matrix(X3[:, :, 0]), TypeError, "[Ss]parse"),
    ([sp.csr_matrix(x) for x in RAGGED], TypeError, "sparse"),
    (X3.astype(np.complex64), ValueError, "Complex data not supported"),
    ([r.astype(np.complex128) for r in RAGGED], ValueError, "Complex data not supported"),
    (OBJECT_3D, TypeError, "must be a string or a (real )?number"),
    ([np.array(["a", "b", "c"])] * 10, ValueError, "bytes/strings|must hold numbers"),
    ([np.array(["a"] * (3 + i)) for i in range(10)], ValueError, "must hold numbers"),
]


@pytest.mark.parametrize("X, error, match", BAD_X)
def test_bad_X_in_fit(Estimator, X, error, match):
    n_samples = X.shape[0] if hasattr(X, "shape") else len(X)
    y = targets(Estimator, np.arange(n_samples) % 2)
    with pytest.raises(error, match=match):
        Estimator(**FAST).fit(X, y)


# 2D tables are a layout error for a model fitted on 3D data (tested below).
@pytest.mark.parametrize(
    "X, error, match",
    [c for c in BAD_X if not (isinstance(c[0], np.ndarray) and c[0].ndim == 2)],
)
def test_bad_X_in_predict(Estimator, X, error, match):
    est = Estimator(**FAST).fit(X3, targets(Estimator, Y))
    with pytest.raises(error, match=match):
        est.predict(X)


def test_object_array_of_numbers_is_accepted(Estimator):
    est = Estimator(**FAST).fit(X3.astype(object), targets(Estimator, Y))
    np.testing.assert_array_equal(outputs(est, X3.astype(object)), outputs(est, X3))


@pytest.mark.parametrize(
    "y, match",
    [
        (np.linspace(0, 1, 10), "Unknown label type: continuous"),
        (np.where(Y == 0, 0.0, np.nan), "y contains NaN"),
        (np.zeros(10), "only one class"),
        (np.ones((10, 2)), "1d array"),
        (Y[:9], "inconsistent numbers of samples"),
        (None, "requires y"),
    ],
)
def test_bad_y(y, match):
    with pytest.raises(ValueError, match=match):
        LSTMSequenceClassifier(**FAST).fit(X3, y)


def test_bad_sample_weight(Estimator):
    est, y = Estimator(**FAST), targets(Estimator, Y)
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        est.fit(X3, y, sample_weight=-np.ones(10))
    with pytest.raises(ValueError, match="at least one non-zero number"):
        est.fit(X3, y, sample_weight=np.zeros(10))
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(9,\), expected \(10,\)"):
        est.fit(X3, y, sample_weight=np.ones(9))


def test_features_must_match_between_fit_and_predict(Estimator):
    est = Estimator(**FAST).fit(X3, targets(Estimator, Y))
    with pytest.raises(ValueError, match="X has 3 features per time step.*expecting 2"):
        est.predict(RNG.normal(size=(4, 6, 3)))
    with pytest.raises(ValueError, match="X has 1 features per time step"):
        est.predict([r[:, 0] for r in RAGGED])


def test_layout_must_match_between_fit_and_predict(Estimator):
    est = Estimator(**FAST).fit(X3, targets(Estimator, Y))
    with pytest.raises(ValueError, match=r"fitted on 3D or ragged.*X\[:, :, None\]"):
        est.predict(X3[:, :, 0])
    est.fit(X3[:, :, 0], targets(Estimator, Y))
    with pytest.raises(ValueError, match="fitted on a 2D array"):
        est.predict(X3)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(hidden_size=0), "hidden_size"),
        (dict(dropout=1.0), "dropout"),
        (dict(pooling="sum"), "pooling"),
        (dict(optimizer="adagrad"), "optimizer"),
        (dict(lr=0), "lr"),
        (dict(batch_size=0), "batch_size"),
        (dict(validation_fraction=1.0), "validation_fraction"),
        (dict(device="tpu"), "device"),
        (dict(dtype="float16"), "dtype"),
        (dict(callbacks="print"), "callbacks"),
        (dict(num_layers=0), "num_layers"),
        (dict(bidirectional="yes"), "bidirectional"),
        (dict(weight_decay=-1e-4), "weight_decay"),
        (dict(max_epochs=0), "max_epochs"),
        (dict(gradient_clip=0.0), "gradient_clip"),
        (dict(early_stopping="yes"), "early_stopping"),
        (dict(n_iter_no_change=0), "n_iter_no_change"),
        (dict(random_state="seed"), "random_state"),
        (dict(verbose="loud"), "verbose"),
        (dict(warm_start=2), "warm_start"),
        (dict(lr=float("nan")), "lr"),
        (dict(dropout=float("nan")), "dropout"),
        (dict(conv_channels=128), "conv_channels"),
    ],
)
def test_invalid_parameters_name_what_is_allowed(Estimator, params, match):
    name = Estimator.__name__
    with pytest.raises(ValueError, match=f"'{match}' parameter of {name} must be"):
        Estimator(**params).fit(X3, targets(Estimator, Y))


def test_early_stopping_auto_is_the_regressors_only():
    # Its probe compares with the training mean, a regressor's baseline.
    with pytest.raises(ValueError, match="'early_stopping' parameter of LSTMSequenceClassifier"):
        LSTMSequenceClassifier(early_stopping="auto").fit(X3, Y)


def test_invalid_class_weight_names_what_is_allowed():
    with pytest.raises(ValueError, match="'class_weight' parameter of LSTMSequenceClassifier must be"):
        LSTMSequenceClassifier(class_weight="auto").fit(X3, Y)


@pytest.mark.parametrize("name", ["lr", "weight_decay", "gradient_clip"])
def test_real_parameters_beyond_float64_are_refused(Estimator, name):
    # sklearn's Interval(Real) admits any int; 10**400 has no float.
    with pytest.raises(ValueError, match=f"{name}=1000.* is not a finite floating-point number"):
        Estimator(**{**FAST, name: 10**400}).fit(X3, targets(Estimator, Y))


@pytest.mark.parametrize("hidden_size", [2**30, 2**63])  # 2**30: 2**64 bytes of weights
def test_a_network_too_large_to_allocate_is_an_input_error(Estimator, hidden_size):
    est = Estimator(hidden_size, max_epochs=1, conv_channels=None)
    with pytest.raises(ValueError, match="Cannot build the network.*choose smaller sizes"):
        est.fit(X3, targets(Estimator, Y))
    assert not hasattr(est, "net_")
