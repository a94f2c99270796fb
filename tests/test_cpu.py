"""CPU settings of a fit: denormals flushed in every thread, threads shared between fits."""

import contextlib
import platform
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import cloudpickle
import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import cross_validate
from skorch.callbacks import Callback

import sklstm._base
import sklstm._data
from sklstm import LSTMSequenceClassifier
from sklstm._cpu import flush_denormal, is_flushing, native_bfloat16, on_every_thread

# -- bfloat16 ----------------------------------------------------------------------


@pytest.mark.skipif(
    not (sys.platform == "linux" and platform.machine() == "x86_64"), reason="reads /proc/cpuinfo"
)
def test_native_bfloat16_is_what_the_cpu_flags_say():
    with open("/proc/cpuinfo") as f:
        flags = next(line for line in f if line.startswith("flags")).split()
    assert native_bfloat16() == ("avx512_bf16" in flags or "amx_bf16" in flags)


# -- denormals -------------------------------------------------------------------


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_flush_denormal_reaches_every_torch_thread_and_is_undone(two_threads):
    x = torch.full((1_000_000,), 1e-40)  # big enough to be split among threads
    assert not is_flushing()
    assert bool(((x * 1.0) != 0).all())
    with flush_denormal():
        assert on_every_thread(lambda thread: is_flushing()) == [True, True]
        assert bool(((x * 1.0) == 0).all())  # every thread's share was flushed
    assert on_every_thread(lambda thread: is_flushing()) == [False, False]
    assert bool(((x * 1.0) != 0).all())


def test_flush_denormal_keeps_a_setting_made_before(two_threads):
    torch.set_flush_denormal(True)
    try:
        with flush_denormal():
            pass
        assert is_flushing()
    finally:
        torch.set_flush_denormal(False)


class FlushRecorder(Callback):
    """Record, for every batch, whether each torch thread flushes denormals."""

    def on_batch_end(self, net, **kwargs):
        self.seen_ = [*getattr(self, "seen_", []), on_every_thread(lambda t: is_flushing())]


def test_fit_flushes_denormals_in_every_thread_then_restores(seq3d, two_threads):
    X, y = seq3d
    clf = LSTMSequenceClassifier(
        hidden_size=4, max_epochs=2, validation_fraction=0.25,
        callbacks=[("record", FlushRecorder())], random_state=0,
    ).fit(X, y)
    seen = dict(clf.net_.callbacks_)["record"].seen_
    assert len(seen) == 2 * 3  # training and validation batches of two epochs
    assert all(states == [True, True] for states in seen)
    assert on_every_thread(lambda t: is_flushing()) == [False, False]


@pytest.mark.parametrize("n_samples, flushes", [(32, False), (33, True)])
def test_predictions_flush_denormals_beyond_one_batch(seq3d, n_samples, flushes):
    X, y = seq3d
    clf = LSTMSequenceClassifier(
        hidden_size=4, max_epochs=1, predict_batch_size=32, random_state=0
    ).fit(X, y)
    seen = []
    clf.net_.module_.register_forward_hook(lambda *args: seen.append(is_flushing()))
    clf.predict_proba(np.concatenate([X, X])[:n_samples])
    assert seen and all(state == flushes for state in seen)
    assert not is_flushing()


def test_training_with_flushed_denormals_gives_the_same_model(seq3d, monkeypatch):
    """Inputs x100 saturate gates into denormals; flushing them changes nothing visible."""
    X, y = seq3d
    X = X * 100
    params = dict(hidden_size=8, bidirectional=False, max_epochs=5, random_state=0)
    flushed = LSTMSequenceClassifier(**params).fit(X, y)
    monkeypatch.setattr(sklstm._base, "flush_denormal", contextlib.nullcontext)
    plain = LSTMSequenceClassifier(**params).fit(X, y)
    np.testing.assert_allclose(flushed.predict_proba(X), plain.predict_proba(X), atol=1e-5)
    assert not is_flushing()


# -- threads -----------------------------------------------------------------


class ThreadRecorder(Callback):
    """Record torch's thread count in the first epoch, when every fit runs.

    Each fit waits at ``barrier`` (a class attribute: fit deep-copies its
    callbacks, and a lock cannot be copied) until all have started.
    """

    barrier = None

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == 1:
            ThreadRecorder.barrier.wait(timeout=60)

    def on_batch_end(self, net, **kwargs):
        if len(net.history) == 1:  # after the barrier, before any fit can end
            self.threads_ = torch.get_num_threads()


def _fit_recording_threads(X, y, seed):
    clf = LSTMSequenceClassifier(
        hidden_size=4, max_epochs=2, random_state=seed, callbacks=[("record", ThreadRecorder())],
    ).fit(X, y)
    return dict(clf.net_.callbacks_)["record"].threads_, torch.get_num_threads()


def test_fits_running_at_once_in_threads_share_the_cores(seq3d, two_threads):
    X, y = seq3d
    ThreadRecorder.barrier = threading.Barrier(2)  # the two fits overlap
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda seed: _fit_recording_threads(X, y, seed), [0, 1]))
    assert [during for during, _ in results] == [1, 1]  # 2 threads, 2 fits
    assert [after for _, after in results] == [2, 2]  # each thread's setting restored
    ThreadRecorder.barrier = threading.Barrier(1)
    with ThreadPoolExecutor(1) as pool:  # alone, a fit in a thread keeps all threads
        assert pool.submit(_fit_recording_threads, X, y, 0).result() == (2, 2)
    assert torch.get_num_threads() == 2


class EpochThreads(Callback):
    def on_epoch_end(self, net, **kwargs):
        self.threads_ = torch.get_num_threads()


def test_joblib_worker_processes_train_on_their_share_of_the_cores(seq3d):
    X, y = seq3d
    clf = LSTMSequenceClassifier(
        hidden_size=4, max_epochs=1, callbacks=[("threads", EpochThreads())]
    )
    this_module = sys.modules[__name__]  # importable here, not in the workers
    cloudpickle.register_pickle_by_value(this_module)
    try:
        result = cross_validate(clf, X, y, cv=2, n_jobs=2, return_estimator=True)
    finally:
        cloudpickle.unregister_pickle_by_value(this_module)
    threads = [dict(e.net_.callbacks_)["threads"].threads_ for e in result["estimator"]]
    assert threads == [max(1, joblib.cpu_count() // 2)] * 2
