"""LSTMNet and its batch norm against the textbook computations they replace."""

import copy

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from sklstm import LSTMSequenceClassifier
from sklstm._module import (
    POOLINGS,
    LSTMNet,
    SequenceBatchNorm,
    mean_windows,
    standardize_sequences,
)

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

# -- the LSTM's stride ------------------------------------------------------------


@pytest.mark.parametrize("stride", [1, 3, 7, 20])
def test_mean_windows_average_each_sequences_own_steps(stride):
    torch.manual_seed(0)
    lengths = torch.tensor([12, 1, 7, 9, 3])
    x = torch.randn(5, 12, 2, dtype=torch.float64)
    x[torch.arange(12) >= lengths[:, None]] = 1e6  # padding must never enter a window
    windows, window_lengths = mean_windows(x, stride, lengths)
    assert window_lengths.tolist() == [-(-n // stride) for n in lengths.tolist()]
    for row, n in enumerate(lengths.tolist()):
        expected = torch.stack([
            x[row, start:min(start + stride, n)].mean(dim=0) for start in range(0, n, stride)
        ])
        torch.testing.assert_close(windows[row, : len(expected)], expected, rtol=0, atol=1e-12)
        alone, none = mean_windows(x[row : row + 1, :n], stride)  # unpadded, no lengths
        assert none is None
        torch.testing.assert_close(alone[0], expected, rtol=0, atol=1e-12)


def test_strided_network_reads_the_windows_and_stays_padding_exact():
    torch.manual_seed(0)
    net = LSTMNet(2, 3, (5,), True, 0.0, "mean_max", torch.float64, (4, 3), lstm_stride=3).eval()
    lengths = torch.tensor([10, 2, 7])
    x = torch.randn(3, 10, 2, dtype=torch.float64)
    x[torch.arange(10) >= lengths[:, None]] = -1e3
    batch = net(x, lengths)
    for row, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(batch[row], net(x[row : row + 1, :n])[0], rtol=0, atol=1e-12)
    # The LSTM's part is the same LSTM without a stride, fed the windows.
    every = LSTMNet(2, 3, (5,), True, 0.0, "mean_max", torch.float64).eval()
    every.lstms.load_state_dict(net.lstms.state_dict())
    windows, window_lengths = mean_windows(x, 3, lengths)
    mask = torch.arange(10) < lengths[:, None]
    torch.testing.assert_close(
        net._recur(x, lengths, mask),
        every._recur(windows, window_lengths, torch.arange(4) < window_lengths[:, None]),
        rtol=0, atol=0,
    )


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
    with pytest.warns(UserWarning, match="single time step"):
        clf.fit(X[:, :1], y)
    assert clf.predict_proba(X[:, :1]).shape == (48, 2)


# -- population statistics -----------------------------------------------------


def _ragged_batches(sequences, weight, batch_size, pad_to):
    """``set_population_statistics``' batches: padded with 7s, weighed."""
    def batches():
        for start in range(0, len(sequences), batch_size):
            part = sequences[start : start + batch_size]
            lengths = torch.tensor([len(s) for s in part])
            x = torch.full((len(part), pad_to, part[0].shape[1]), 7.0, dtype=torch.float64)
            for row, seq in enumerate(part):
                x[row, : len(seq)] = seq
            yield x, lengths, None if weight is None else weight[start : start + batch_size]
    return batches


@torch.no_grad()
def _population_reference(net, sequences, weight):
    """A copy of ``net`` whose batch norms hold its inputs' statistics, found the textbook way.

    Each sequence alone, unpadded, repeated as often as its (whole) weight,
    every layer after the one before it has its statistics.
    """
    ref = copy.deepcopy(net).eval()
    for depth, (_, norm) in enumerate(ref.convs):
        columns = []
        for seq, w in zip(sequences, weight.long().tolist()):
            h = seq.T[None]
            for conv, earlier in ref.convs[:depth]:
                h = torch.relu(earlier(conv(h)))
            columns += [ref.convs[depth][0](h)[0]] * w
        real = torch.cat(columns, dim=1)
        norm.running_mean.copy_(real.mean(dim=1))
        norm.running_var.copy_(real.var(dim=1))
    return ref


def test_population_statistics_are_those_of_every_real_step_layer_after_layer():
    gen = torch.Generator().manual_seed(0)
    sequences = [torch.randn(n, 2, dtype=torch.float64, generator=gen) * 3 + 1 for n in (9, 4, 6, 1, 8)]
    weight = torch.tensor([2.0, 1.0, 0.0, 3.0, 1.0], dtype=torch.float64)
    torch.manual_seed(0)
    net = LSTMNet(2, 3, hidden_sizes=(5,), bidirectional=True, conv_channels=(4, 6, 3)).double()
    net.train()
    expected = _population_reference(net, sequences, weight)
    for batch_size, pad_to in ((2, 9), (5, 12), (1, 9)):
        for _, norm in net.convs:  # what training left: anything
            norm.running_mean.fill_(5.0), norm.running_var.fill_(0.1)
        net.set_population_statistics(_ragged_batches(sequences, weight, batch_size, pad_to))
        assert net.training  # the mode it had
        for (_, norm), (_, reference) in zip(net.convs, expected.convs):
            torch.testing.assert_close(norm.running_mean, reference.running_mean, rtol=0, atol=1e-12)
            torch.testing.assert_close(norm.running_var, reference.running_var, rtol=1e-12, atol=1e-12)
    # The statistics changed what evaluation computes: the reference's outputs.
    net.eval()
    x = next(iter(_ragged_batches(sequences, None, 5, 9)()))[:2]
    torch.testing.assert_close(net(*x), expected(*x), rtol=0, atol=1e-12)


def test_population_statistics_of_the_per_sequence_moments():
    gen = torch.Generator().manual_seed(1)
    sequences = [torch.randn(n, 2, dtype=torch.float64, generator=gen) * s for n, s in ((5, 1), (3, 4), (6, 9))]
    net = LSTMNet(2, 3, hidden_sizes=(4,), normalize="per_sequence").double()
    net.set_population_statistics(_ragged_batches(sequences, None, 2, 6))
    stats = torch.stack([
        torch.cat([seq.mean(dim=0), seq.std(dim=0, unbiased=False).log()]) for seq in sequences
    ])
    torch.testing.assert_close(net.stats_norm.running_mean, stats.mean(dim=0), rtol=0, atol=1e-12)
    torch.testing.assert_close(net.stats_norm.running_var, stats.var(dim=0), rtol=1e-12, atol=1e-12)


def test_population_statistics_of_nothing_that_weighs_leave_the_running_ones():
    sequences = [torch.ones(4, 2, dtype=torch.float64), torch.zeros(3, 2, dtype=torch.float64)]
    net = LSTMNet(2, 3, hidden_sizes=(4,), conv_channels=(3,)).double()
    norm = net.convs[0][1]
    norm.running_mean.fill_(2.0), norm.running_var.fill_(3.0)
    net.set_population_statistics(_ragged_batches(sequences, torch.zeros(2, dtype=torch.float64), 2, 4))
    assert norm.running_mean.tolist() == [2.0] * 3 and norm.running_var.tolist() == [3.0] * 3


def test_fit_gives_batch_norms_the_training_data_statistics_partial_fit_does_not(ragged):
    X, y = ragged
    weight = np.arange(len(y)) % 3  # whole numbers, some 0
    clf = LSTMSequenceClassifier(
        hidden_size=4, conv_channels=(3, 5), normalize=None, max_epochs=2, dtype="float64",
        random_state=0,
    ).fit(X, y, sample_weight=weight)
    sequences = [torch.as_tensor(np.asarray(x, dtype=np.float64)) for x in X]
    module = clf.net_.module_
    expected = _population_reference(module, sequences, torch.as_tensor(weight, dtype=torch.float64))
    for (_, norm), (_, reference) in zip(module.convs, expected.convs):
        torch.testing.assert_close(norm.running_mean, reference.running_mean, rtol=0, atol=1e-10)
        torch.testing.assert_close(norm.running_var, reference.running_var, rtol=1e-10, atol=1e-10)
    # partial_fit keeps the running averages of its batches, over all its calls.
    clf.partial_fit(X, y, sample_weight=weight)
    module = clf.net_.module_
    expected = _population_reference(module, sequences, torch.as_tensor(weight, dtype=torch.float64))
    assert not torch.allclose(module.convs[1][1].running_var, expected.convs[1][1].running_var)


# -- per-sequence standardization ----------------------------------------------


def test_standardized_ragged_sequences_equal_each_sequence_standardized_alone():
    gen = torch.Generator().manual_seed(0)
    lengths = torch.tensor([7, 3, 5, 1])
    x = torch.randn(4, 7, 3, dtype=torch.float64, generator=gen) * 5 + 2
    x[1, 3:] = 1e6  # padding: never read
    out = standardize_sequences(x, lengths)
    for row, n in enumerate(lengths.tolist()):
        seq = x[row, :n]
        std = seq.std(dim=0, unbiased=False)
        expected = (seq - seq.mean(dim=0)) / torch.where(std > 0, std, 1)
        torch.testing.assert_close(out[row, :n], expected, rtol=0, atol=1e-12)
    # Equal lengths, without lengths: the same numbers.
    full = torch.full((4,), 7)
    torch.testing.assert_close(standardize_sequences(x), standardize_sequences(x, full),
                               rtol=0, atol=1e-12)
    torch.testing.assert_close(standardize_sequences(x[0:1]), out[0:1], rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_feature_constant_within_a_sequence_becomes_zeros(dtype):
    x = torch.stack([
        torch.full((6,), 0.1, dtype=dtype),  # 0.1 is not exact: its mean rounds
        torch.full((6,), 3e5, dtype=dtype),
        torch.linspace(-1, 1, 6, dtype=dtype),
    ], dim=1)[None]
    out = standardize_sequences(x)
    assert torch.equal(out[0, :, :2], torch.zeros(6, 2, dtype=dtype))
    torch.testing.assert_close(out[0, :, 2].std(unbiased=False), torch.tensor(1.0, dtype=dtype))


def test_normalizing_network_reads_level_and_scale_only_through_their_statistics():
    net = LSTMNet(2, 3, hidden_sizes=(5,), bidirectional=True, conv_channels=(4,),
                  normalize="per_sequence", dtype=torch.float64).eval()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(4, 9, 2, dtype=torch.float64, generator=gen)
    scale = torch.rand(4, 1, 2, dtype=torch.float64, generator=gen) * 100 + 0.01
    shift = torch.randn(4, 1, 2, dtype=torch.float64, generator=gen) * 50
    moved = x * scale + shift
    _, stats = standardize_sequences(moved, return_stats=True)
    torch.testing.assert_close(stats[:, :2], moved.mean(dim=1))
    torch.testing.assert_close(stats[:, 2:], moved.std(dim=1, unbiased=False).log())
    with torch.no_grad():
        assert not torch.allclose(net(moved), net(x))  # the head reads the statistics
        net.head.weight[:, -4:] = 0  # ... and only through its last 4 inputs
        torch.testing.assert_close(net(moved), net(x), rtol=0, atol=1e-9)


# -- truncated back-propagation ----------------------------------------------------


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("hidden_sizes", [(5,), (6, 4)])
@pytest.mark.parametrize("ragged", [False, True])
def test_a_window_keeps_the_outputs_and_takes_gradients_from_its_steps(
    bidirectional, hidden_sizes, ragged
):
    torch.manual_seed(0)
    full = LSTMNet(2, 3, hidden_sizes, bidirectional, conv_channels=(4,), dtype=torch.float64)
    windowed = LSTMNet(
        2, 3, hidden_sizes, bidirectional, conv_channels=(4,), dtype=torch.float64, bptt_window=6
    )
    windowed.load_state_dict(full.state_dict())
    x = torch.randn(4, 30, 2, dtype=torch.float64)
    lengths = torch.tensor([30, 21, 12, 30]) if ragged else None
    full.train(), windowed.train()
    windowed.window_generator = torch.Generator().manual_seed(3)
    start, stop = windowed._draw_window(30)
    windowed.window_generator = torch.Generator().manual_seed(3)  # the same window again
    inputs = x.clone().requires_grad_()
    out = windowed(inputs, lengths)
    torch.testing.assert_close(out, full(x, lengths), rtol=0, atol=1e-12)
    # Without the convolutional block's path, the inputs get gradients at
    # the window's steps alone: steps start:stop of each direction's order.
    out.sum().backward()
    windowed.convs = nn.ModuleList()
    windowed.head = nn.Linear(windowed.head.in_features - 4, 3, dtype=torch.float64)
    windowed.window_generator = torch.Generator().manual_seed(3)
    inputs = x.clone().requires_grad_()
    windowed(inputs, lengths).sum().backward()
    expected = torch.zeros(4, 30, dtype=torch.bool)
    expected[:, start:stop] = True
    if bidirectional:
        n = torch.tensor([30] * 4) if lengths is None else lengths
        for b in range(4):  # read from its last step: steps n - stop to n - start
            expected[b, max(0, n[b] - stop):max(0, n[b] - start)] = True
    if ragged:
        expected &= torch.arange(30) < lengths[:, None]
    assert torch.equal(inputs.grad.abs().sum(dim=2) > 0, expected)


def test_windows_are_drawn_over_every_start_and_only_in_training():
    net = LSTMNet(1, 2, (3,), True, bptt_window=4)
    net.window_generator = torch.Generator().manual_seed(0)
    starts = {net._draw_window(10)[0] for _ in range(200)}
    assert starts == set(range(7))  # 0 to 10 - 4, each of them
    assert net._draw_window(4) is None  # no shorter than the window: every step
    net.eval()
    assert net._draw_window(10) is None
    assert LSTMNet(1, 2, (3,), pooling="last", bptt_window=4).bptt_window is None


def test_windows_call_the_lstm_with_a_few_lengths_whatever_the_start():
    # oneDNN keeps a primitive, with memory of its own, per sequence length:
    # the steps around a window are read in pieces of 2**k steps, so that
    # the lengths seen stay few however many starts are drawn.
    net = LSTMNet(1, 2, (3,), True, conv_channels=(), bptt_window=64).train()
    net.window_generator = torch.Generator().manual_seed(0)
    seen = set()
    for lstm in net.lstms[0]:
        lstm.register_forward_pre_hook(lambda module, args: seen.add(args[0].shape[1]))
    x = torch.randn(2, 300, 1)
    with torch.no_grad():
        for _ in range(100):
            net(x)
    assert seen <= {64} | {2**k for k in range(9)}
    assert 64 in seen and len(seen) > 3  # windows were drawn, at several starts


def test_a_window_changes_training_only_on_longer_sequences(seq3d):
    X, y = seq3d  # sequences of 12 steps
    common = dict(hidden_size=4, conv_channels=(3,), max_epochs=3, random_state=0)
    short = LSTMSequenceClassifier(bptt_window=12, **common).fit(X, y)
    every = LSTMSequenceClassifier(bptt_window=None, **common).fit(X, y)
    windowed = LSTMSequenceClassifier(bptt_window=3, **common).fit(X, y)
    again = LSTMSequenceClassifier(bptt_window=3, **common).fit(X, y)
    # The windows have their own generator: none drawn, none used, the same model.
    np.testing.assert_array_equal(short.predict_proba(X), every.predict_proba(X))
    assert not np.array_equal(windowed.predict_proba(X), every.predict_proba(X))
    np.testing.assert_array_equal(windowed.predict_proba(X), again.predict_proba(X))
    assert windowed.net_.module_.window_generator is None
