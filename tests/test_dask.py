"""Grid search and cross-validation on a Dask cluster equal the local run.

joblib's ``dask`` backend sends scikit-learn's fits to the workers of a
``dask.distributed`` cluster; here a LocalCluster of two worker processes
on the loopback interface stands in for a real one.
"""

import os
from unittest import mock

import joblib
import numpy as np
import pytest
from distributed import Client, LocalCluster
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_validate

from sklstm import LSTMSequenceClassifier, LSTMSequenceRegressor
from sklstm.datasets import make_sequence_regression


@pytest.fixture(scope="module")
def client():
    # The nannies set their workers' variables (OMP_NUM_THREADS=1, ...) in
    # this process's environment and leave them there: patch.dict restores
    # it, so that later tests' subprocesses get the threads they would alone.
    with mock.patch.dict(os.environ), LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        # The scheduler's HTTP server on a free loopback port: without an
        # address it takes 8787, which another pytest worker's cluster may hold.
        dashboard_address="127.0.0.1:0",
    ) as cluster, Client(cluster) as client:
        yield client


def test_grid_search_on_the_cluster_equals_the_local_run(client, ragged):
    X, y = ragged
    search = GridSearchCV(
        LSTMSequenceClassifier(max_epochs=8, random_state=0),
        {"hidden_size": [4, 16], "pooling": ["last", "mean_max"]},
        cv=3,
    )
    local = search.fit(X, y)
    local_scores = local.cv_results_["mean_test_score"].copy()
    local_proba = local.predict_proba(X)
    with joblib.parallel_backend("dask"):
        remote = clone(search).set_params(n_jobs=-1).fit(X, y)
    workers = {w for w in client.run(lambda dask_worker: dask_worker.address)}
    assert len(workers) == 2
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"], local_scores)
    np.testing.assert_allclose(remote.predict_proba(X), local_proba, rtol=1e-5, atol=1e-7)
    assert len(np.unique(local_scores)) > 1  # the grid is not a tie


def test_cross_validate_on_the_cluster_equals_the_local_run(client):
    X, y = make_sequence_regression(n_samples=120, random_state=0)
    # float64: the workers run one torch thread each, this process two, and
    # the convolutions' float32 sums round differently with the thread count.
    reg = LSTMSequenceRegressor(hidden_size=16, max_epochs=30, dtype="float64", random_state=0)
    local = cross_validate(reg, X, y, cv=3, scoring="r2")
    with joblib.parallel_backend("dask"):
        remote = cross_validate(reg, X, y, cv=3, scoring="r2", n_jobs=-1)
    np.testing.assert_allclose(remote["test_score"], local["test_score"], rtol=1e-5)
    assert np.all(local["test_score"] > 0.5)  # it learned in each fold
