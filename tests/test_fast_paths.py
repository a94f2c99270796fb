"""Every fast path gives what the straightforward path gives.

The speed work (benchmarks/) replaced plain code with faster code; each
test here runs both on the same input and compares the outputs.
"""

import contextlib
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import cloudpickle
import joblib
import numpy as np
import pytest
import skorch.net
import torch
from sklearn.base import clone
from sklearn.model_selection import cross_validate
from skorch import NeuralNet
from skorch.callbacks import Callback, LRScheduler
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import sklstm._base
import sklstm._data
from sklstm import LSTMSequenceClassifier, SlidingWindowTransformer
from sklstm._cpu import flush_denormal, is_flushing, on_every_thread
from sklstm._data import Sequences, check_sequences
from sklstm._module import POOLINGS, LSTMNet, SequenceBatchNorm
from sklstm._net import ClassifierNet

# -- the network: dense masked LSTM against packed sequences ------------------


def packed_reference(net, x, lengths):
    """LSTMNet's output computed the textbook way: packed sequences, per-row pooling."""
    seq = x
    for layer in net.lstms:
        lstm = nn.LSTM(
            seq.shape[2], layer[0].hidden_size, batch_first=True,
            bidirectional=len(layer) == 2, dtype=x.dtype,
        )
        # The same weights, as one (bi)directional nn.LSTM, so gradients reach them.
        weights = {}
        for name, param in layer[0].named_parameters():
            weights[name] = param
            if len(layer) == 2:
                weights[name + "_reverse"] = getattr(layer[1], name)
        packed = pack_padded_sequence(seq, lengths, batch_first=True, enforce_sorted=False)
        out = torch.func.functional_call(lstm, weights, (packed,))[0]
        seq, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    hidden = net.lstms[-1][0].hidden_size
    rows = []
    for b, n in enumerate(lengths.tolist()):
        out = seq[b, :n]
        last = out[-1, :hidden]
        if len(net.lstms[-1]) == 2:
            last = torch.cat([last, out[0, hidden:]])
        pooled = {
            "last": [last], "mean": [out.mean(0)], "max": [out.amax(0)],
            "mean_max": [out.mean(0), out.amax(0)],
        }[net.pooling]
        rows.append(torch.cat(pooled))
    return net.head(torch.stack(rows))


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("hidden_sizes", [(5,), (6, 4)])
def test_dense_ragged_batches_match_packed_sequences(pooling, bidirectional, hidden_sizes):
    torch.manual_seed(0)
    net = LSTMNet(3, 4, hidden_sizes, bidirectional, 0.0, pooling, torch.float64).eval()
    lengths = torch.tensor([7, 1, 4, 7, 2, 5])
    x = torch.randn(6, 7, 3, dtype=torch.float64)
    x[torch.arange(7) >= lengths[:, None]] = 1e3  # padding values must not matter
    x.requires_grad_(True)
    fast = net(x, lengths)
    reference = packed_reference(net, x, lengths)
    torch.testing.assert_close(fast, reference, rtol=0, atol=1e-12)
    # Training through the dense path computes the same gradients.
    weights = torch.randn_like(fast)
    grads = torch.autograd.grad((fast * weights).sum(), [x, *net.parameters()])
    reference_grads = torch.autograd.grad((reference * weights).sum(), [x, *net.parameters()])
    for got, expected in zip(grads, reference_grads):
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-11)


@pytest.mark.parametrize("pooling", POOLINGS)
@pytest.mark.parametrize("bidirectional", [False, True])
def test_equal_length_batch_skips_masks_with_the_same_result(pooling, bidirectional):
    """The unmasked path (one fused kernel for both directions) equals the masked one."""
    torch.manual_seed(0)
    net = LSTMNet(3, 2, (5, 4), bidirectional, 0.0, pooling, torch.float64).eval()
    x = torch.randn(4, 6, 3, dtype=torch.float64, requires_grad=True)
    padded = torch.cat([x, torch.full((4, 2, 3), 7.0, dtype=torch.float64)], dim=1)
    fast = net(x, None)
    masked = net(padded, torch.full((4,), 6))  # all equal, but shorter than the batch
    torch.testing.assert_close(fast, masked, rtol=0, atol=1e-12)
    torch.testing.assert_close(net(x, torch.full((4,), 6)), fast, rtol=0, atol=0)
    weights = torch.randn_like(fast)
    grads = torch.autograd.grad((fast * weights).sum(), [x, *net.parameters()])
    masked_grads = torch.autograd.grad((masked * weights).sum(), [x, *net.parameters()])
    for got, expected in zip(grads, masked_grads):
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-11)


# -- batches ---------------------------------------------------------------


def test_batch_slices_are_views_equal_to_copies():
    values = np.random.default_rng(0).normal(size=(10, 4, 2)).astype(np.float32)
    data = Sequences(values, y=np.arange(10), weight=np.linspace(1, 2, 10))
    X_view, (y_view, w_view) = data.batch(slice(3, 7))
    X_copy, (y_copy, w_copy) = data.batch(np.arange(3, 7))
    assert np.shares_memory(X_view["x"].numpy(), values)
    for view, copy in [(X_view["x"], X_copy["x"]), (y_view, y_copy), (w_view, w_copy)]:
        torch.testing.assert_close(view, copy, rtol=0, atol=0)
    assert X_view["lengths"] is None and X_copy["lengths"] is None


def test_batches_of_read_only_windows_are_writable_copies():
    series = np.random.default_rng(0).normal(size=(30, 2)).astype(np.float32)
    windows = SlidingWindowTransformer(5).fit_transform(series)
    assert not windows.flags.writeable
    _, data = check_sequences(LSTMSequenceClassifier(), windows, reset=True)
    for indices in (slice(4, 12), np.arange(4, 12)):
        x = data.batch(indices)[0]["x"]
        assert x.numpy().flags.writeable
        np.testing.assert_array_equal(x.numpy(), windows[4:12])


def test_gathered_padding_matches_a_loop():
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(n, 3)).astype(np.float32) for n in (5, 2, 8, 8, 1, 3)]
    _, data = check_sequences(LSTMSequenceClassifier(), seqs, reset=True)
    for indices in (np.array([4, 0, 2]), np.array([2, 3]), slice(1, 5), np.array([1])):
        X, _ = data.batch(indices)
        chosen = [seqs[i] for i in np.arange(len(seqs))[indices]]
        longest = max(len(s) for s in chosen)
        expected = np.zeros((len(chosen), longest, 3), np.float32)
        for row, s in enumerate(chosen):
            expected[row, : len(s)] = s
        np.testing.assert_array_equal(X["x"].numpy(), expected)
        lengths = [len(s) for s in chosen]
        if len(set(lengths)) == 1:
            assert X["lengths"] is None
        else:
            assert X["lengths"].tolist() == lengths


def test_length_sorted_prediction_matches_unsorted(ragged):
    X, y = ragged
    clf = LSTMSequenceClassifier(hidden_size=6, max_epochs=2, batch_size=8, random_state=0)
    clf.fit(X, y)
    _, data = check_sequences(clf, X, reset=False, layout="sequences")
    clf.net_.module_.eval()  # batch norm's running statistics
    unsorted = torch.cat([
        clf.net_.module_(Xb["x"], Xb["lengths"]) for Xb, _ in sklstm._data.BatchIterator(data, 8)
    ])
    np.testing.assert_allclose(
        clf.net_.logits(data).numpy(), unsorted.detach().numpy(), rtol=0, atol=1e-6
    )


# -- validation --------------------------------------------------------------

ARRAYS = [
    np.arange(24, dtype=np.float64).reshape(2, 4, 3),
    np.asfortranarray(np.arange(24, dtype=np.float32).reshape(2, 4, 3)),
    np.arange(48, dtype=np.int64).reshape(4, 4, 3)[::2, ::-1],
    np.ones((3, 5), dtype=bool),
    np.arange(15, dtype=np.float16).reshape(3, 5),
    np.array([[1, 2], [3, 4]], dtype=np.uint8),
]


@pytest.mark.parametrize("X", ARRAYS, ids=lambda a: f"{a.dtype}{a.shape}")
def test_plain_arrays_skip_check_array_with_the_same_result(X, monkeypatch):
    layout, fast = check_sequences(LSTMSequenceClassifier(), X, reset=True)
    monkeypatch.setattr(sklstm._data, "_is_plain_numeric", lambda X: False)
    layout_slow, slow = check_sequences(LSTMSequenceClassifier(), X, reset=True)
    assert layout == layout_slow
    assert fast.values.dtype == slow.values.dtype == np.float32
    np.testing.assert_array_equal(fast.values, slow.values)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, 1e39])
def test_finiteness_check_by_sum_reports_what_sklearn_reports(bad, monkeypatch):
    X = np.ones((3, 4, 2))
    X[1, 2, 0] = bad
    with pytest.raises(ValueError) as fast:
        check_sequences(LSTMSequenceClassifier(), X, reset=True)
    monkeypatch.setattr(sklstm._data, "_is_plain_numeric", lambda X: False)
    with pytest.raises(ValueError) as slow:
        check_sequences(LSTMSequenceClassifier(), X, reset=True)
    assert str(fast.value) == str(slow.value)


def test_large_finite_values_whose_sum_overflows_are_accepted():
    X = np.full((4, 5, 2), 3e38, dtype=np.float32)  # the float32 sum is inf
    _, data = check_sequences(LSTMSequenceClassifier(), X, reset=True)
    np.testing.assert_array_equal(data.values, X)


# -- loss and training loop ----------------------------------------------------


@pytest.mark.parametrize("criterion_params", [{}, {"criterion__label_smoothing": 0.2}])
def test_unweighted_loss_equals_the_weighted_loss_with_equal_weights(criterion_params):
    # The weighted path uses the criterion's own parameters too.
    net = ClassifierNet(
        LSTMNet, criterion=nn.CrossEntropyLoss, module__n_features=2, module__n_outputs=3,
        **criterion_params,
    ).initialize()
    logits = torch.randn(7, 3, requires_grad=True)
    y = torch.tensor([0, 1, 2, 2, 1, 0, 0])
    fast = net.get_loss(logits, (y, None))
    weighted = net.get_loss(logits, (y, torch.full((7,), 2.5)))
    torch.testing.assert_close(fast, weighted)
    (grad_fast,) = torch.autograd.grad(fast, logits)
    (grad_weighted,) = torch.autograd.grad(weighted, logits)
    torch.testing.assert_close(grad_fast, grad_weighted)


def test_uniform_sample_weight_takes_the_unweighted_path_with_the_same_fit(seq3d):
    X, y = seq3d
    params = dict(hidden_size=6, max_epochs=3, random_state=0, dtype="float64")
    plain = LSTMSequenceClassifier(**params).fit(X, y)
    weighted = LSTMSequenceClassifier(**params).fit(X, y, sample_weight=np.full(len(y), 3.0))
    np.testing.assert_allclose(plain.predict_proba(X), weighted.predict_proba(X), atol=1e-12)
    # A weight that varies changes the fit: the weighted path is really taken.
    varied = LSTMSequenceClassifier(**params).fit(X, y, sample_weight=1.0 + (y == 1))
    assert not np.allclose(plain.predict_proba(X), varied.predict_proba(X))


class Seen(Callback):
    def __init__(self, calls):
        self.calls = calls

    def on_batch_end(self, net, **kwargs):
        self.calls.append(self)


def test_only_handling_callbacks_are_notified_and_the_list_is_followed():
    net = ClassifierNet(
        LSTMNet, criterion=nn.CrossEntropyLoss, module__n_features=2, module__n_outputs=2,
        verbose=0,
    ).initialize()
    calls = []
    first = Seen(calls)
    net.notify("on_batch_end", batch=None, training=True)
    net.callbacks_.append(("first", first))  # a list changed in place
    net.notify("on_batch_end", batch=None, training=True)
    assert calls == [first]
    second = Seen(calls)
    net.set_params(callbacks=[("second", second)]).initialize()  # a new list
    net.notify("on_batch_end", batch=None, training=True)
    assert calls == [first, second]
    assert [h.__self__ for h in net._handlers("on_batch_end")] == [
        dict(net.callbacks_)["valid_acc"], second
    ]  # the net's and the other callbacks' no-ops are skipped


class MarkBatch(Callback):
    """Writes into each batch's history row as the batch begins."""

    def on_batch_begin(self, net, training=False, **kwargs):
        net.history.record_batch("began_training", training)


class SkorchLoopNet(ClassifierNet):
    """ClassifierNet with skorch's own loop: every callback notified, mode set per batch."""

    notify = NeuralNet.notify
    train_step = NeuralNet.train_step
    run_single_epoch = NeuralNet.run_single_epoch
    train_step_single = NeuralNet.train_step_single
    validation_step = NeuralNet.validation_step


@pytest.mark.parametrize("schedule", [
    dict(lr_schedule="constant", callbacks=[LRScheduler("StepLR", step_size=1), ("mark", MarkBatch())]),
    dict(lr_schedule="cosine", callbacks=[("mark", MarkBatch())]),
], ids=["own-scheduler", "cosine"])
def test_lean_training_loop_matches_skorch_loop(ragged, monkeypatch, schedule):
    X, y = ragged
    params = dict(
        hidden_size=6, dropout=0.3, validation_fraction=0.25, max_epochs=3,
        batch_size=8, gradient_clip=0.5, random_state=0, **schedule,
    )
    lean = LSTMSequenceClassifier(**params).fit(X, y)
    # skorch counts a batch with get_len(X); our X holds lengths=None.
    monkeypatch.setattr(skorch.net, "get_len", lambda data: len(data["x"]))
    monkeypatch.setattr(LSTMSequenceClassifier, "_net_class", SkorchLoopNet)
    reference = LSTMSequenceClassifier(**params).fit(X, y)
    assert type(reference.net_) is SkorchLoopNet
    for key in ("train_loss", "valid_loss", "valid_acc"):
        assert lean.history_[:, key] == reference.history_[:, key]
    # Batch rows: the same entries, in the same order, the callback's included.
    rows = lean.history_[:, "batches"]
    assert rows == reference.history_[:, "batches"]
    epoch = lean.history_[0]
    n_train, n_valid = epoch["train_batch_count"], epoch["valid_batch_count"]
    assert [list(row) for row in rows[0]] == (
        [["began_training", "train_loss", "train_batch_size"]] * n_train
        + [["began_training", "valid_loss", "valid_batch_size"]] * n_valid
    )
    assert [row["began_training"] for row in rows[0]] == [True] * n_train + [False] * n_valid
    _, data = check_sequences(reference, X, reset=False, layout="sequences")
    skorch_logits = reference.net_.forward(data)  # skorch's own prediction loop
    np.testing.assert_allclose(lean.net_.logits(data), skorch_logits, rtol=0, atol=1e-6)


class GradientCounter(Callback):
    def initialize(self):
        self.calls_ = 0
        return self

    def on_grad_computed(self, net, **kwargs):
        self.calls_ += 1


@pytest.mark.parametrize("optimizer, per_step", [("adam", 1), (torch.optim.LBFGS, 2)])
def test_only_optimizers_that_evaluate_the_loss_again_get_a_closure(seq3d, optimizer, per_step):
    """Adam steps once per batch without a closure; LBFGS still calls its closure often."""
    X, y = seq3d
    clf = LSTMSequenceClassifier(
        hidden_size=4, conv_channels=None, lr=0.1, lr_schedule="constant", max_epochs=2,
        batch_size=16, optimizer=optimizer, callbacks=[("count", GradientCounter())],
        random_state=0,
    ).fit(X, y)
    batches = sum(clf.history_[:, "train_batch_count"])
    calls = dict(clf.net_.callbacks_)["count"].calls_
    assert calls == batches if per_step == 1 else calls >= per_step * batches
    assert np.isfinite(clf.history_[:, "train_loss"]).all()
    with torch.no_grad():  # a fit trains with gradients, whatever the caller's mode
        again = clone(clf).fit(X, y)
    assert again.history_[:, "train_loss"] == clf.history_[:, "train_loss"]


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
    clf = LSTMSequenceClassifier(hidden_size=4, max_epochs=1, random_state=0).fit(X, y)
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


# -- the convolutional block's batch norm ---------------------------------------

def _batch(seed=0, n=5, channels=3, steps=7):
    return torch.randn(n, channels, steps, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def test_sequence_batch_norm_without_padding_or_weights_is_batch_norm1d():
    h = _batch()
    ours, torchs = SequenceBatchNorm(3, dtype=torch.float64), torch.nn.BatchNorm1d(3, dtype=torch.float64)
    torch.testing.assert_close(ours(h), torchs(h), rtol=0, atol=0)
    ours.eval(), torchs.eval()
    torch.testing.assert_close(ours(h), torchs(h), rtol=0, atol=0)


def test_sequence_batch_norm_weights_equal_repeated_sequences():
    h = _batch()
    weight = torch.tensor([2.0, 1.0, 0.0, 1.0, 3.0], dtype=torch.float64)
    repeated = torch.repeat_interleave(h, weight.long(), dim=0)
    ours, torchs = SequenceBatchNorm(3, dtype=torch.float64), torch.nn.BatchNorm1d(3, dtype=torch.float64)
    out = ours(h, None, weight)
    reference = torchs(repeated)
    kept = weight > 0
    torch.testing.assert_close(
        torch.repeat_interleave(out[kept], weight[kept].long(), dim=0), reference,
        rtol=0, atol=1e-14,
    )
    for name in ("running_mean", "running_var"):
        torch.testing.assert_close(getattr(ours, name), getattr(torchs, name), rtol=0, atol=1e-15)


def test_sequence_batch_norm_statistics_skip_padding():
    h = _batch()
    lengths = torch.tensor([7, 4, 7, 2, 5])
    keep = (torch.arange(7) < lengths[:, None])[:, None, :].to(h.dtype)
    ours, torchs = SequenceBatchNorm(3, dtype=torch.float64), torch.nn.BatchNorm1d(3, dtype=torch.float64)
    out = ours(h, keep)
    # Batch norm over the real steps alone, laid side by side as one sequence.
    real = torch.cat([h[i, :, :n] for i, n in enumerate(lengths)], dim=1)[None]
    reference = torchs(real)[0]
    torch.testing.assert_close(
        torch.cat([out[i, :, :n] for i, n in enumerate(lengths)], dim=1), reference,
        rtol=0, atol=1e-14,
    )
    torch.testing.assert_close(ours.running_var, torchs.running_var, rtol=0, atol=1e-15)


def test_training_outputs_do_not_depend_on_padding_in_the_batch():
    # Training mode, batch statistics: a batch padded to 9 steps or to 20
    # gives the same outputs for the same sequences.
    torch.manual_seed(0)
    net = LSTMNet(2, 3, hidden_sizes=(5,), bidirectional=True, conv_channels=(4, 6)).double()
    x = torch.randn(3, 20, 2, dtype=torch.float64)
    lengths = torch.tensor([9, 4, 6])
    net.train()
    short = net(x[:, :9], lengths)
    long = net(torch.where(torch.arange(20)[None, :, None] < lengths[:, None, None], x, 7.0), lengths)
    torch.testing.assert_close(short, long, rtol=0, atol=1e-12)


def test_sequence_batch_norm_edge_batches():
    norm = SequenceBatchNorm(3, dtype=torch.float64)
    before = norm.running_mean.clone(), norm.running_var.clone()
    # A batch whose sequences all weigh 0 changes no statistics.
    out = norm(_batch(), None, torch.zeros(5, dtype=torch.float64))
    assert bool(out.isfinite().all())
    torch.testing.assert_close((norm.running_mean, norm.running_var), before)
    assert int(norm.num_batches_tracked) == 0
    # One value per channel (one sequence of one step): no error.
    assert bool(norm(_batch(n=1, steps=1)).isfinite().all())


def test_a_last_batch_of_one_single_step_sequence_trains(seq3d):
    X, y = seq3d  # 48 sequences of 1 step: the last batch of 47 holds one
    clf = LSTMSequenceClassifier(hidden_size=4, batch_size=47, max_epochs=2, random_state=0)
    assert clf.fit(X[:, :1], y).predict_proba(X[:, :1]).shape == (48, 2)


# -- the optimizer: torch's fused step ----------------------------------------


def _fused(clf):
    return bool(clf.net_.optimizer_.param_groups[0].get("fused"))


def test_builtin_optimizers_take_the_fused_step_and_others_are_left_alone(seq3d):
    X, y = seq3d
    for name in ("adam", "adamw", "sgd"):
        assert _fused(LSTMSequenceClassifier(optimizer=name, max_epochs=1).fit(X, y)), name
    assert _fused(LSTMSequenceClassifier(optimizer=torch.optim.Adam, max_epochs=1).fit(X, y))
    # No fused RMSprop in torch; the user's own optimizer class is built as given.
    assert not _fused(LSTMSequenceClassifier(optimizer="rmsprop", max_epochs=1).fit(X, y))

    class OwnAdam(torch.optim.Adam):
        pass

    own = LSTMSequenceClassifier(optimizer=OwnAdam, max_epochs=1).fit(X, y)
    assert isinstance(own.net_.optimizer_, OwnAdam) and not _fused(own)


@pytest.mark.parametrize("params", [
    dict(optimizer="adam"),
    dict(optimizer="adamw", weight_decay=0.01),
    dict(optimizer="sgd", weight_decay=0.01),
    dict(optimizer="adam", gradient_clip=0.1, lr_schedule="constant"),
])
def test_fused_step_trains_the_same_model_as_the_default_step(seq3d, monkeypatch, params):
    """In float64 the two steps agree to rounding, so the trained models do too."""
    X, y = seq3d
    params = dict(params, hidden_size=8, max_epochs=5, dtype="float64", random_state=0)
    fused = LSTMSequenceClassifier(**params).fit(X, y)
    monkeypatch.setattr(sklstm._base, "_has_fused_kernel", lambda optimizer, device: False)
    plain = LSTMSequenceClassifier(**params).fit(X, y)
    assert _fused(fused) and not _fused(plain)
    for a, b in zip(fused.net_.module_.parameters(), plain.net_.module_.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=0, atol=1e-9)
    np.testing.assert_allclose(fused.predict_proba(X), plain.predict_proba(X), rtol=0, atol=1e-12)


def test_optimizer_state_loaded_elsewhere_keeps_this_machines_step(seq3d, monkeypatch):
    """A model saved with the fused step continues with the unfused one where torch lacks it."""
    X, y = seq3d
    clf = LSTMSequenceClassifier(hidden_size=4, max_epochs=2, random_state=0).fit(X, y)
    state = clf.net_.optimizer_.state_dict()
    assert state["param_groups"][0]["fused"]
    monkeypatch.setattr(sklstm._base, "_has_fused_kernel", lambda optimizer, device: False)
    clf._restore_net(clf.net_.module_.state_dict(), state, clf.history_, "cpu")
    assert not _fused(clf)
    assert clf.net_.optimizer_.state_dict()["state"][0]["exp_avg"].abs().sum() > 0  # moments kept
    clf.partial_fit(X, y)  # and training goes on with the unfused step
    assert not _fused(clf) and clf.n_iter_ == 3
