"""Sequences and their batches: views, padding, validation shortcuts."""

import numpy as np
import pytest
import torch

import sklstm._base
import sklstm._data
import sklstm._module
from sklstm import LSTMSequenceClassifier, SlidingWindowTransformer
from sklstm._data import Sequences, check_sequences, padded_width

# -- batches ---------------------------------------------------------------


def test_batch_slices_are_views_equal_to_copies():
    values = np.random.default_rng(0).normal(size=(10, 4, 2)).astype(np.float32)
    data = Sequences(values, y=np.arange(10), weight=np.linspace(1, 2, 10))
    X_view, view = data.batch(slice(3, 7))
    X_copy, copy = data.batch(np.arange(3, 7))
    assert np.shares_memory(X_view["x"].numpy(), values)
    torch.testing.assert_close(view.y, torch.arange(3, 7), rtol=0, atol=0)
    torch.testing.assert_close(view.weight, torch.from_numpy(data.weight[3:7]), rtol=0, atol=0)
    for a, b in [(X_view["x"], X_copy["x"]), (view.y, copy.y), (view.weight, copy.weight)]:
        torch.testing.assert_close(a, b, rtol=0, atol=0)
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


def test_padded_widths_are_few_and_close_above_the_longest():
    widths = np.array([padded_width(n) for n in range(1, 5000)])
    n = np.arange(1, 5000)
    assert (widths >= n).all() and (widths[:15] == n[:15]).all()  # exact below 16
    assert (widths - n < n / 8).all()  # at most 12.5% more steps
    assert (np.diff(widths) >= 0).all()
    for k in range(4, 12):  # 8 widths per octave
        assert len(set(widths[(widths >= 2**k) & (widths < 2 ** (k + 1))])) == 8


def test_ragged_batches_pad_to_few_widths_and_predict_the_same(monkeypatch):
    # Every distinct width costs the CPU's convolutions and LSTMs a cached
    # primitive (about 1 MiB each): batches padded to their longest
    # sequence would bring nearly one width per batch.
    rng = np.random.default_rng(0)
    seqs = [rng.normal(size=(n, 2)).astype(np.float32) for n in rng.integers(16, 512, 300)]
    y = np.arange(300) % 2
    widths, longest = set(), set()
    forward = sklstm._module.LSTMNet.forward

    def recording(module, x, lengths=None, *args, **kwargs):
        widths.add(x.shape[1])
        if lengths is not None:
            longest.add(int(lengths.max()))
            assert x.shape[1] == padded_width(int(lengths.max()))
            assert not x[torch.arange(x.shape[1]) >= lengths[:, None]].any()  # zeros
        return forward(module, x, lengths, *args, **kwargs)

    monkeypatch.setattr(sklstm._module.LSTMNet, "forward", recording)
    clf = LSTMSequenceClassifier(
        hidden_size=4, conv_channels=(4,), max_epochs=3, batch_size=8, random_state=0
    ).fit(seqs, y)
    proba = clf.predict_proba(seqs)
    assert len(longest) > 60 and len(widths) <= 8 * 5  # 5 octaves from 16 to 512
    alone = np.concatenate([clf.predict_proba([s]) for s in seqs[:20]])
    np.testing.assert_allclose(proba[:20], alone, rtol=0, atol=1e-6)


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
        clf.net_.logits(data, 8).numpy(), unsorted.detach().numpy(), rtol=0, atol=1e-6
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


def _epoch(data, batch_size, seed):
    batches = sklstm._data.BatchIterator(
        data, batch_size, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    return [indices for _, indices in batches._batches()]


def test_ragged_batches_of_a_large_set_hold_similar_lengths():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 400, size=600)
    seqs = [np.zeros((n, 1), np.float32) for n in lengths]
    data = check_sequences(LSTMSequenceClassifier(), seqs, reset=True)[1]
    epochs = [_epoch(data, 32, seed) for seed in range(3)]
    for epoch in epochs:
        every = np.concatenate(epoch)
        np.testing.assert_array_equal(np.sort(every), np.arange(600))  # each once
        assert [len(b) for b in epoch].count(32) == len(epoch) - 1  # one partial batch
    padded = np.mean([sum(lengths[b].max() for b in epoch) for epoch in epochs])
    shuffled = np.mean([
        sum(lengths[p[s : s + 32]].max() for s in range(0, 600, 32))
        for p in (rng.permutation(600) for _ in range(20))
    ])
    assert padded < 0.75 * shuffled  # about 0.6 measured
    # The batches still mix: no two epochs batch the same sequences together.
    together = [{frozenset(b) for b in epoch} for epoch in epochs]
    assert not together[0] & together[1] and not together[1] & together[2]
    # The same generator state, the same batches (what data-parallel ranks rely on).
    assert all(np.array_equal(a, b) for a, b in zip(_epoch(data, 32, 1), epochs[1]))


def test_ragged_batches_of_a_small_set_stay_random():
    # Sorted, a set of a few batches would batch about the same sequences
    # every epoch; its order is the generator's permutation, as for equal lengths.
    rng = np.random.default_rng(1)
    seqs = [np.zeros((n, 1), np.float32) for n in rng.integers(5, 400, size=100)]
    data = check_sequences(LSTMSequenceClassifier(), seqs, reset=True)[1]
    expected = torch.randperm(100, generator=torch.Generator().manual_seed(4)).numpy()
    np.testing.assert_array_equal(np.concatenate(_epoch(data, 32, 4)), expected)
