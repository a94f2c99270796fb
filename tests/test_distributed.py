"""Data-parallel fits on torch.distributed: 2 CPU processes, gloo over loopback.

Each case fits in one process (here) and as two ranks started by torchrun
(or by hand, with the launcher's environment variables); the ranks must end
with the same weights and history as the single process, to 1e-6 in
float64. Every process is bounded in time.
"""

import os
import pickle
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _ddp_cases import FailOnRank1, case_data, fit_case, summary
from _isolated import run_isolated

import sklstm

CASES = Path(__file__).with_name("_ddp_cases.py")
TIMEOUT = 240


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env.update(GLOO_SOCKET_IFNAME="lo", OMP_NUM_THREADS="1", PYTHONWARNINGS="error::FutureWarning", **extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CASES.parent), env.get("PYTHONPATH")]))
    return env


CASES_UNDER_TORCHRUN = ["ragged", "tiny", "validation", "regressor", "equal", "random_state_none"]


@pytest.fixture(scope="module")
def under_torchrun(tmp_path_factory):
    """Each rank's fit of every case, from one torchrun launch of two processes."""
    out = tmp_path_factory.mktemp("torchrun")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes=1", "--nproc-per-node=2",
        "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{_free_port()}",
        str(CASES), ",".join(CASES_UNDER_TORCHRUN), str(out),
    ]
    done = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    return {
        case: [pickle.loads((out / f"{case}-rank{r}.pkl").read_bytes()) for r in (0, 1)]
        for case in CASES_UNDER_TORCHRUN
    }


def _by_hand(case, out):
    """Start two ranks as a launcher would; return their (exit code, stderr)."""
    port = _free_port()
    processes = [
        subprocess.Popen(
            [sys.executable, str(CASES), case, str(out)],
            env=_env(RANK=str(r), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)),
            stderr=subprocess.PIPE, text=True,
        )
        for r in (0, 1)
    ]
    results = []
    for p in processes:
        try:
            _, err = p.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            for q in processes:
                q.kill()
            raise AssertionError(f"a rank of {case!r} hung past {TIMEOUT} s") from None
        results.append((p.returncode, err))
    return results


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _assert_same_fit(single, ranks):
    # Each rank computed on about half of the batches' sequences (one more
    # per batch smaller than the ranks), and the model is the same.
    assert all(rank["seen"] <= single["seen"] // 2 + single["seen"] // 16 for rank in ranks)
    for rank in ranks:
        assert rank["params"].keys() == single["params"].keys()
        for name, value in single["params"].items():
            np.testing.assert_allclose(rank["params"][name], value, rtol=1e-6, atol=1e-8, err_msg=name)
        assert len(rank["history"]) == len(single["history"])
        for mine, theirs in zip(rank["history"], single["history"]):
            assert mine.keys() == theirs.keys()
            for key, value in theirs.items():
                np.testing.assert_allclose(mine[key], value, rtol=1e-6, err_msg=key)


@pytest.mark.parametrize("case", ["ragged", "tiny", "validation", "regressor"])
def test_two_ranks_under_torchrun_train_the_single_process_model(case, under_torchrun):
    ranks = under_torchrun[case]
    single = summary(fit_case(case))
    _assert_same_fit(single, ranks)
    if case == "validation":  # early stopping ended the fit before max_epochs
        assert len(single["history"]) < 30
        assert "valid_acc" in single["history"][-1]


def test_fitted_rank_is_an_ordinary_estimator(under_torchrun, tmp_path):
    rank0, _ = under_torchrun["equal"]
    est = pickle.loads(rank0["pickled"])
    single = fit_case("equal")
    _, X, _, _ = case_data("equal")
    np.testing.assert_allclose(est.predict_proba(X), single.predict_proba(X), rtol=1e-6)
    assert est.net_.__dict__.get("process_group_") is None
    path = tmp_path / "model.sklstm"
    sklstm.save(est.set_params(callbacks=None), path)  # the test's counter is code
    np.testing.assert_allclose(sklstm.load(path).predict_proba(X), single.predict_proba(X), rtol=1e-6)


def test_random_state_none_ranks_agree_with_each_other(under_torchrun):
    rank0, rank1 = under_torchrun["random_state_none"]
    for name, value in rank0["params"].items():
        np.testing.assert_array_equal(rank1["params"][name], value)
    assert rank0["history"] == rank1["history"]


def test_a_rank_that_dies_fails_the_fit_without_a_hang(tmp_path):
    (code0, err0), (code1, _) = _by_hand("die", tmp_path)
    assert code1 == 3
    assert code0 != 0
    assert "DistributedFitError" in err0 and "lost its peers" in err0, err0[-2000:]


def test_ranks_given_different_data_are_refused(tmp_path):
    results = _by_hand("other_data", tmp_path)
    for code, err in results:
        assert code != 0
        assert "disagree on the targets" in err, err[-2000:]


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    # The workers import this directory's modules (the tests' callbacks).
    os.environ["PYTHONPATH"] = _env()["PYTHONPATH"]
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
        # The scheduler's HTTP server on a free loopback port: without an
        # address it takes 8787, which another pytest worker's cluster may hold.
        dashboard_address="127.0.0.1:0",
    ) as cluster, Client(cluster) as client:
        yield client


@pytest.mark.parametrize("case", ["ragged", "validation"])
def test_parallel_fit_on_a_local_dask_cluster_trains_the_single_process_model(client, case):
    est, X, y, weight = case_data(case)
    with sklstm.parallel_fit(client):
        fitted = est.fit(X, y, sample_weight=weight)
    assert fitted is est and hasattr(est, "net_")
    # Rank 0's model came back: it computed on half of each batch (its
    # "seen" count), and equals the single-process model.
    _assert_same_fit(summary(fit_case(case)), [summary(est)])
    np.testing.assert_allclose(
        est.predict_proba(X), fit_case(case).predict_proba(X), rtol=1e-6
    )


def test_parallel_fit_reports_a_failing_rank(client):
    est, X, y, _ = case_data("ragged")
    with sklstm.parallel_fit(client), pytest.raises(ArithmeticError, match="rank 1 failed"):
        est.set_params(callbacks=[FailOnRank1()], max_epochs=20).fit(X, y)
    assert not hasattr(est, "net_")
    with sklstm.parallel_fit(client), pytest.raises(ValueError, match="hidden_size"):
        est.set_params(hidden_size=(4, 0)).fit(X, y)
    with pytest.raises(ValueError, match="needs 3 workers"), sklstm.parallel_fit(client, n_workers=3):
        est.set_params(hidden_size=4).fit(X, y)


def _enter_parallel_fit():
    with sklstm.parallel_fit():
        pass


def test_parallel_fit_without_a_client_says_how_to_get_one():
    # In a fresh process: this one has the client of the tests above.
    error, message = run_isolated(_enter_parallel_fit)
    assert error == "ValueError" and "dask.distributed Client" in message
