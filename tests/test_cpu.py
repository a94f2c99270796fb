"""CPU settings of a fit: denormals flushed in every thread, threads shared between fits."""

import contextlib
import fnmatch
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import cloudpickle
import joblib
import numpy as np
import pytest
import torch
from sklearn.model_selection import cross_validate
from skorch.callbacks import Callback, Freezer

import sklstm._base
import sklstm._data
from sklstm import LSTMSequenceClassifier
from sklstm._cpu import flush_denormal, is_flushing, on_every_thread, side_threads
from sklstm.datasets import make_sequence_classification

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
    assert all(states == [True, True] for states in seen)  # the side thread's: below
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
            self.threads_ = torch.get_num_threads() + side_threads()


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
    assert [during for during, _ in results] == [1, 1]  # 2 threads, 2 fits, no side thread
    assert [after for _, after in results] == [2, 2]  # each thread's setting restored
    ThreadRecorder.barrier = threading.Barrier(1)
    with ThreadPoolExecutor(1) as pool:  # alone, a fit in a thread and its side thread use all
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


# -- the side thread ---------------------------------------------------------


class BranchRecorder:
    """Record, per branch and pass, the thread that runs it and its torch threads."""

    def __init__(self, module):
        self.seen = set()
        self.handles = [
            module.convs[0][0].register_forward_hook(self.hook("block")),
            module.head.register_forward_hook(self.hook("head")),
        ]

    def hook(self, branch):
        def forward(module, args, output):
            self.record(branch, "forward")
            if output.requires_grad:
                output.register_hook(lambda grad: self.record(branch, "backward"))

        return forward

    def record(self, branch, step):
        self.seen.add((branch, step, threading.current_thread().name.split("_")[0],
                       torch.get_num_threads(), is_flushing(), torch.is_grad_enabled()))


class RecordBranches(Callback):
    def initialize(self):
        self.recorder_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        self.recorder_ = BranchRecorder(net.module_)


def _branches_of_fit(X, y, **params):
    clf = LSTMSequenceClassifier(  # the default network: balanced branches
        max_epochs=2, random_state=0, callbacks=[("branches", RecordBranches())], **params,
    ).fit(X, y)
    recorder = dict(clf.net_.callbacks_)["branches"].recorder_
    seen_in_fit = set(recorder.seen)
    recorder.seen.clear()
    clf.predict_proba(X)
    return seen_in_fit, recorder.seen


def test_a_fit_runs_the_block_beside_the_lstm_each_on_half_the_threads(seq3d, two_threads):
    seen, in_predict = _branches_of_fit(*seq3d, validation_fraction=0.25)
    assert seen == {  # the head runs after the LSTM, in its thread
        ("block", "forward", "sklstm-side", 1, True, True),
        ("block", "backward", "sklstm-side", 1, True, False),  # grad mode is off in backward
        ("head", "forward", "MainThread", 1, True, True),
        ("head", "backward", "MainThread", 1, True, False),
        ("block", "forward", "sklstm-side", 1, True, False),  # validation
        ("head", "forward", "MainThread", 1, True, False),
    }
    # predict: all threads here.
    assert {(branch, thread, threads) for branch, _, thread, threads, _, _ in in_predict} == {
        ("block", "MainThread", 2), ("head", "MainThread", 2)
    }
    assert torch.get_num_threads() == 2 and side_threads() == 0 and not is_flushing()
    assert not [t for t in threading.enumerate() if t.name.startswith("sklstm-side")]


def test_one_thread_has_no_side_thread(seq3d):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        seen, _ = _branches_of_fit(*seq3d)
    finally:
        torch.set_num_threads(before)
    assert {thread for _, _, thread, *_ in seen} == {"MainThread"}


class SplitRecorder(Callback):
    def on_batch_end(self, net, **kwargs):
        self.split_ = (torch.get_num_threads(), side_threads())


@pytest.mark.parametrize("params, split", [
    ({}, (1, 1)),
    ({"conv_channels": None}, (2, 0)),
    ({"hidden_size": 64}, (2, 0)),  # the LSTM outweighs the block
    ({"hidden_size": 8}, (2, 0)),  # the block outweighs the LSTM
])
def test_a_network_with_balanced_branches_has_a_side_thread(seq3d, two_threads, params, split):
    clf = LSTMSequenceClassifier(
        max_epochs=1, callbacks=[("record", SplitRecorder())], **params
    ).fit(*seq3d)
    assert dict(clf.net_.callbacks_)["record"].split_ == split  # (here, beside)
    assert side_threads() == 0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_fit_with_a_side_thread_equals_a_fit_on_one_thread(dtype, two_threads):
    X, y = make_sequence_classification(n_samples=64, n_timesteps=40, random_state=1)
    params = dict(max_epochs=3, random_state=0)  # the default network, bidirectional
    both = LSTMSequenceClassifier(**params).fit(X.astype(dtype), y)
    torch.set_num_threads(1)
    one = LSTMSequenceClassifier(**params).fit(X.astype(dtype), y)
    for a, b in zip(both.net_.module_.parameters(), one.net_.module_.parameters(), strict=True):
        assert torch.equal(a, b)


class Failure(RuntimeError):
    pass


class FailInBlock(Callback):
    def on_train_begin(self, net, **kwargs):
        def fail(module, args, output):
            if threading.current_thread().name.startswith("sklstm-side"):
                raise Failure("in the side thread")

        net.module_.convs[0][0].register_forward_hook(fail)


def test_an_error_beside_reaches_the_caller_and_the_threads_are_restored(seq3d, two_threads):
    clf = LSTMSequenceClassifier(max_epochs=2, callbacks=[("fail", FailInBlock())])
    with pytest.raises(Failure, match="in the side thread"):
        clf.fit(*seq3d)
    assert torch.get_num_threads() == 2 and side_threads() == 0 and not is_flushing()
    assert not [t for t in threading.enumerate() if t.name.startswith("sklstm-side")]


@pytest.mark.parametrize("frozen", ["lstms.*", "convs.*", "head.*"])
def test_a_frozen_branch_or_head_trains_the_rest_beside(seq3d, two_threads, frozen):
    X, y = seq3d
    init = LSTMSequenceClassifier(max_epochs=1, lr=1e-9, random_state=0).fit(X, y)
    clf = LSTMSequenceClassifier(
        max_epochs=2, random_state=0, callbacks=[("freeze", Freezer(frozen))]
    ).fit(X, y)
    before = dict(init.net_.module_.named_parameters())
    for name, param in clf.net_.module_.named_parameters():
        same = torch.allclose(param, before[name], atol=1e-6)
        assert same == fnmatch.fnmatch(name, frozen), name
