"""Small seeded data shared by the tests."""

import pytest
from _tasks import ESTIMATORS

from sklstm.datasets import make_sequence_classification


@pytest.fixture(scope="session")
def seq3d():
    """Equal-length 3D data: 48 sequences, 12 steps, 2 features, 2 classes."""
    return make_sequence_classification(
        n_samples=48, n_timesteps=12, n_features=2, random_state=0
    )


@pytest.fixture(scope="session")
def ragged():
    """Variable-length data: 48 sequences of 4 to 15 steps, 2 features, 3 classes."""
    return make_sequence_classification(
        n_samples=48, n_timesteps=15, min_timesteps=4, n_features=2, n_classes=3,
        random_state=0,
    )


@pytest.fixture(params=ESTIMATORS, ids=lambda Estimator: Estimator.__name__)
def Estimator(request):
    """Each LSTM estimator in turn, for behaviour they share through the base."""
    return request.param
