"""Both LSTM estimators, for the tests of the behaviour they share.

The classifier takes the class labels of the shared data sets; the
regressor takes the same numbers as real-valued targets.
"""

import numpy as np
from sklearn.base import is_classifier

from sklstm import LSTMSequenceClassifier, LSTMSequenceRegressor

ESTIMATORS = [LSTMSequenceClassifier, LSTMSequenceRegressor]


def targets(Estimator, labels):
    """``labels`` as targets of ``Estimator``."""
    if issubclass(Estimator, LSTMSequenceClassifier):
        return labels
    return np.asarray(labels, dtype=np.float64)


def outputs(estimator, X):
    """What the fitted estimator predicts at full precision: probabilities or values."""
    if is_classifier(estimator):
        return estimator.predict_proba(X)
    return estimator.predict(X)


def lstm_layers(estimator):
    """``(hidden_size, bidirectional)`` of each LSTM layer of a fitted estimator."""
    return [(layer[0].hidden_size, len(layer) == 2) for layer in estimator.net_.module_.lstms]
