"""scikit-learn's estimator checks, all of them.

The classifier and the scaler pass every check. The window transformer has
two expected failures, both by design: a window is made of neighbouring
rows, so the output for a row depends on which rows come before it.
"""

import pytest
from sklearn.utils.estimator_checks import (
    check_classifiers_train,
    check_estimators_pickle,
    check_fit_idempotent,
    check_methods_sample_order_invariance,
    check_methods_subset_invariance,
    check_param_validation,
    parametrize_with_checks,
)

from sklstm import LSTMSequenceClassifier, SequenceScaler, SlidingWindowTransformer

# One batch holds each check's whole training set (batch_size=64) and the
# network computes in float64: then sample_weight is exactly equivalent to
# repeating samples, as check_sample_weight_equivalence demands to 1e-7.
CHECKED = LSTMSequenceClassifier(
    hidden_size=16, max_epochs=40, batch_size=64, dtype="float64"
)


WINDOWS = SlidingWindowTransformer(window_size=3)
WINDOWS_EXPECTED_FAILURES = {
    "check_methods_sample_order_invariance": (
        "row t's window holds the rows before it; shuffling the rows changes "
        "the windows, as it would change the series"
    ),
    "check_methods_subset_invariance": (
        "transforming rows in separate batches cuts the series: each batch "
        "starts with padded windows, and a 1-row batch is shorter than a window"
    ),
}


def _expected_failures(estimator):
    if isinstance(estimator, SlidingWindowTransformer):
        return WINDOWS_EXPECTED_FAILURES
    return {}


@parametrize_with_checks(
    [CHECKED, WINDOWS, SequenceScaler()], expected_failed_checks=_expected_failures
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", [CHECKED, WINDOWS, SequenceScaler()], ids=repr)
def test_param_validation(estimator):
    check_param_validation(type(estimator).__name__, estimator)


# The default float32 network passes the checks where precision matters too.
@pytest.mark.parametrize(
    "check",
    [
        check_classifiers_train,
        check_fit_idempotent,
        check_methods_subset_invariance,
        check_methods_sample_order_invariance,
        check_estimators_pickle,
    ],
)
def test_float32_checks(check):
    check("LSTMSequenceClassifier", LSTMSequenceClassifier(hidden_size=16, max_epochs=40))
