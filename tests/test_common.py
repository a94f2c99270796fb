"""scikit-learn's estimator checks, all of them, with no expected failure."""

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

from sklstm import LSTMSequenceClassifier

# One batch holds each check's whole training set (batch_size=64) and the
# network computes in float64: then sample_weight is exactly equivalent to
# repeating samples, as check_sample_weight_equivalence demands to 1e-7.
CHECKED = LSTMSequenceClassifier(
    hidden_size=16, max_epochs=40, batch_size=64, dtype="float64"
)


@parametrize_with_checks([CHECKED])
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_param_validation():
    check_param_validation("LSTMSequenceClassifier", CHECKED)


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
