"""The PyTorch network: stacked LSTM layers, pooling over time, a linear head.

An optional convolutional block (as in LSTM-FCN) reads the input beside the
LSTM; its output, averaged over time, joins the pooled LSTM output.

This module knows nothing of scikit-learn. It takes a batch ``x`` of shape
``(batch, time, features)``, padded at the end, with the true ``lengths`` of
the sequences, and returns one row of class scores (logits) per sequence.

Sequences of different lengths are not packed (``pack_padded_sequence``):
on the CPU a packed batch misses the fused LSTM kernel and trains about
seven times slower. The padded batch runs through the dense kernel instead,
which gives the same outputs at every real step: a forward LSTM reads the
padding only after a sequence's last step, and the backward direction reads
each sequence reversed within its own length, padding still at the end.
Pooling then ignores the padded steps.
"""

import functools

import torch
from torch import nn

POOLINGS = ("last", "mean", "max", "mean_max")
NORMALIZE = (None, "per_sequence", "both")


class LSTMNet(nn.Module):
    """Stacked (bi)LSTM whose per-step outputs are pooled into class scores.

    Parameters
    ----------
    n_features : int
        Number of features per time step.
    n_outputs : int
        Number of output scores (classes).
    hidden_sizes : tuple of int
        One LSTM layer per entry, with that many units (per direction).
    bidirectional : bool
        Whether each layer reads the sequence in both directions.
    dropout : float
        Dropout rate between stacked layers and before the output layer.
    pooling : {"last", "mean", "max", "mean_max"}
        How the per-step outputs of the last layer become one vector.
    dtype : torch.dtype
        Floating-point type of the weights (and of the expected input).
    conv_channels : tuple of int
        Channels of the convolutional block beside the LSTM, as in LSTM-FCN:
        one ``Conv1d`` (kernel 8, 5, then 3), batch norm and ReLU per entry,
        then the mean over the real steps, concatenated with the LSTM's
        pooled output. Empty: no block.
    normalize : {None, "per_sequence", "both"}
        ``"per_sequence"``: each sequence is first standardized, feature by
        feature, by the mean and standard deviation of its own real steps
        (see ``standardize_sequences``), for the LSTM and the convolutional
        block; the head then also reads those means and log standard
        deviations, through a batch norm, so the level and scale of the
        sequences still reach the output. ``"both"``: the network reads each
        step as given (centred and scaled by ``input_mean`` and
        ``input_scale``) beside its standardized copy. None: as given.
    input_mean, input_scale : array-like of shape (n_features,) or None
        With ``normalize="both"``, the steps as given are read as ``(x -
        input_mean) / input_scale``: one affine map per feature for all
        sequences (the training data's mean and standard deviation, so
        that features of any magnitude reach the LSTM's gates in their
        working range), which keeps the levels that per-sequence
        standardization removes. None: 0 and 1.
    lstm_stride : int
        The LSTM reads the mean of each ``lstm_stride`` consecutive steps
        (see ``mean_windows``), the convolutional block every step: the
        recurrence, which runs one step after the other, is that many times
        shorter.
    autocast : torch.dtype or None
        Run the forward pass under ``torch.autocast`` with this lower
        precision (``torch.bfloat16``): convolutions, LSTMs and matrix
        products compute in it (the LSTMs on the CPU only where oneDNN
        can, see ``_cpu_bf16_lstm``), the weights stay in ``dtype`` and the
        logits come back in ``dtype``. None: everything in ``dtype``.
    autocast_inference : bool
        Whether ``autocast`` applies in evaluation mode too; False: only
        in training, and predictions compute in ``dtype``.
    bptt_window : int or None
        In training, the LSTM layers back-propagate through one window of
        this many consecutive steps per batch (of the steps the LSTM reads,
        after ``lstm_stride``; steps ``start`` to ``start + bptt_window``
        of each direction's reading order, ``start`` drawn at random); the
        steps before and after it are read without gradients, so the
        outputs are the same, the gradients those of the window's steps
        alone (truncated back-propagation). Not with ``pooling="last"``,
        whose output is one step's. None, or batches of at most this many
        steps: every step.

    Attributes
    ----------
    lstms : nn.ModuleList
        One entry per layer: a ``nn.ModuleList`` of one unidirectional
        ``nn.LSTM`` per direction (forward, then backward).
    window_generator : torch.Generator or None
        Where ``bptt_window``'s windows are drawn from (one number per
        training batch, whatever its length, so that data-parallel ranks
        draw alike); None: torch's global generator.
    """

    window_generator = None

    def __init__(
        self,
        n_features,
        n_outputs,
        hidden_sizes=(64,),
        bidirectional=False,
        dropout=0.0,
        pooling="mean_max",
        dtype=torch.float32,
        conv_channels=(),
        normalize=None,
        lstm_stride=1,
        autocast=None,
        bptt_window=None,
        autocast_inference=True,
        input_mean=None,
        input_scale=None,
    ):
        super().__init__()
        if normalize not in NORMALIZE:
            raise ValueError(f"normalize must be one of {NORMALIZE}, got {normalize!r}.")
        self.normalize = normalize
        # Not in the state dict: the estimator keeps them as fitted
        # attributes, where the loader checks them, and passes them here.
        for name, value in (("input_mean", input_mean), ("input_scale", input_scale)):
            if value is not None:
                value = torch.as_tensor(value, dtype=dtype).reshape(n_features)
            self.register_buffer(name, value, persistent=False)
        self.lstm_stride = lstm_stride
        self.autocast = autocast
        self.autocast_inference = autocast_inference
        self.bptt_window = None if pooling == "last" else bptt_window
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        self.pooling = pooling
        directions = 2 if bidirectional else 1
        self.lstms = nn.ModuleList()
        n_inputs = 2 * n_features if normalize == "both" else n_features
        size_in = n_inputs
        for hidden in hidden_sizes:
            self.lstms.append(nn.ModuleList(
                nn.LSTM(size_in, hidden, batch_first=True, dtype=dtype)
                for _ in range(directions)
            ))
            size_in = hidden * directions
        self.dropout = nn.Dropout(dropout)
        pooled_size = size_in * (2 if pooling == "mean_max" else 1)
        self.convs = nn.ModuleList()
        channels_in = n_inputs
        for i, channels in enumerate(conv_channels):
            kernel = _CONV_KERNELS[min(i, len(_CONV_KERNELS) - 1)]
            self.convs.append(nn.ModuleList([
                # "same" padding, spelled out: torch warns about even kernels.
                nn.Sequential(
                    nn.ConstantPad1d(((kernel - 1) // 2, kernel // 2), 0.0),
                    nn.Conv1d(channels_in, channels, kernel, dtype=dtype),
                ),
                SequenceBatchNorm(channels, dtype=dtype),
            ]))
            channels_in = channels
        if conv_channels:
            pooled_size += channels_in
        if normalize == "per_sequence":
            self.stats_norm = SequenceBatchNorm(2 * n_features, dtype=dtype)
            pooled_size += 2 * n_features
        self.head = nn.Linear(pooled_size, n_outputs, dtype=dtype)

    def forward(self, x, lengths=None, sample_weight=None, standardized=None):
        """Return logits of shape ``(batch, n_outputs)``.

        ``lengths`` is None when every sequence fills all ``x.shape[1]``
        steps, else an int64 tensor; positions of ``x`` at or beyond a
        sequence's length are padding and never influence its output.
        ``sample_weight`` (training only, None: equal weights) weighs each
        sequence in the batch statistics of the convolutional block's batch
        norm, as the loss weighs it. ``standardized`` (``normalize="both"``
        only): the standardized copy of ``x`` the network reads beside it,
        given instead of computed (``sklstm.inspection`` integrates along
        both).
        """
        if self.autocast is not None and (self.training or self.autocast_inference):
            with torch.autocast(x.device.type, dtype=self.autocast):
                logits = self._logits(x, lengths, sample_weight, standardized)
            return logits.to(self.head.weight.dtype)
        return self._logits(x, lengths, sample_weight, standardized)

    def _logits(self, x, lengths, sample_weight, standardized=None):
        x, lengths, mask, stats = self._inputs(x, lengths, standardized)
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu") and not _cpu_bf16_lstm():
            with torch.autocast("cpu", enabled=False):
                parts = [self._recur(x.float(), lengths, mask)]
        else:
            parts = [self._recur(x, lengths, mask)]
        if len(self.convs):
            parts.append(self._convolve(x, lengths, mask, sample_weight))
        if stats is not None:
            parts.append(self.stats_norm(stats[:, :, None], None, sample_weight)[:, :, 0])
        pooled = parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
        return self.head(self._drop(pooled))

    def _inputs(self, x, lengths, standardized=None):
        """``(x, lengths, mask, stats)``: what the LSTM, the block and ``stats_norm`` read.

        ``lengths`` and ``mask`` (``steps < lengths``) are None when every
        sequence fills all steps; ``stats`` is None but with
        ``normalize="per_sequence"``.
        """
        n_steps = x.shape[1]
        if lengths is not None and bool((lengths == n_steps).all()):
            lengths = None
        mask = None
        if lengths is not None:
            lengths = lengths.to(x.device)
            mask = torch.arange(n_steps, device=x.device) < lengths[:, None]
        stats = None
        if self.normalize == "per_sequence":
            x, stats = standardize_sequences(x, lengths, mask, return_stats=True)
        elif self.normalize == "both":
            if standardized is None:
                standardized = standardize_sequences(x, lengths, mask)
            x = torch.cat([self._affine(x), standardized], dim=2)
        return x, lengths, mask, stats

    @torch.no_grad()
    def set_population_statistics(self, batches):
        """Set each batch norm's running statistics to those of all of ``batches``.

        In training a batch norm normalizes by each batch's statistics and
        keeps a running average of them (momentum 0.1) for evaluation. That
        average lags weights that still move, and its last batches weigh
        most, small or not: the 4 sequences after 32 of a training set of
        36 make a tenth of it. This replaces it with the statistics of every
        real step of ``batches`` (a function returning an iterable of ``(x,
        lengths, sample_weight)``, the sequences weighed as in training):
        their weighted mean and unbiased variance, taken one layer at a
        time, each with the layers before it normalizing as in evaluation,
        by the statistics just set, so that every layer's statistics are
        those of the inputs it reads at prediction ("precise batch norm",
        Wu and Johnson, 2021). Batches of zero weight leave a layer's
        running statistics as they are.
        """
        was_training = self.training
        self.eval()
        autocast = self.autocast is not None and self.autocast_inference
        try:
            # The input's statistics do not depend on any layer: with the first one.
            depths = max(len(self.convs), self.normalize == "per_sequence")
            for depth in range(depths):
                moments = {}
                for x, lengths, sample_weight in batches():
                    with torch.autocast(x.device.type, dtype=self.autocast, enabled=autocast):
                        self._add_moments(moments, depth, x, lengths, sample_weight)
                for norm, (count, total, squares) in moments.items():
                    norm.set_moments(count, total, squares)
        finally:
            self.train(was_training)

    def _add_moments(self, moments, depth, x, lengths, sample_weight):
        """Add the moments of the inputs of the batch norms at ``depth`` to ``moments``."""

        def add(norm, h, keep):
            found = norm.moments(h, keep, sample_weight)
            moments[norm] = found if norm not in moments else tuple(
                a + b for a, b in zip(moments[norm], found)
            )

        x, lengths, mask, stats = self._inputs(x, lengths)
        if depth == 0 and stats is not None:
            add(self.stats_norm, stats[:, :, None], None)
        if depth >= len(self.convs):
            return
        h = x.transpose(1, 2)
        keep = None if mask is None else mask[:, None, :].to(x.dtype)
        for conv, norm in self.convs[:depth]:
            h = torch.relu(norm(conv(h if keep is None else h * keep)))
        add(self.convs[depth][1], self.convs[depth][0](h if keep is None else h * keep), keep)

    def _affine(self, x):
        """``x`` centred and scaled by ``input_mean`` and ``input_scale``."""
        # getattr: a module pickled before these buffers existed has none.
        mean, scale = getattr(self, "input_mean", None), getattr(self, "input_scale", None)
        if mean is not None:
            x = x - mean
        return x if scale is None else x / scale

    def _recur(self, x, lengths, mask):
        """The LSTM layers' outputs, pooled over each sequence's real steps."""
        if self.lstm_stride > 1:
            x, lengths = mean_windows(x, self.lstm_stride, lengths, mask)
            if lengths is not None and bool((lengths == x.shape[1]).all()):
                lengths = None
            if lengths is not None:
                mask = torch.arange(x.shape[1], device=x.device) < lengths[:, None]
        order = None
        if lengths is not None:
            # Where step t comes from when each sequence is read backwards
            # within its length; padding stays where it is.
            steps = torch.arange(x.shape[1], device=x.device)
            order = torch.where(mask, lengths[:, None] - 1 - steps, steps)
        # Drawn over the longest real sequence: ragged batches pad further.
        window = self._draw_window(x.shape[1] if lengths is None else int(lengths.max()))
        seq = x
        for i, layer in enumerate(self.lstms):
            if i > 0:
                seq = self._drop(seq)
            if window is not None:
                # Steps start:stop of each direction's reading order: the
                # backward one's are counted from each sequence's last step,
                # so that both reach the real steps of short sequences.
                out = _read_window(layer[0], seq, *window)
                if len(layer) == 2:
                    backward = _read_window(layer[1], _reverse(seq, order), *window)
                    out = torch.cat([out, _reverse(backward, order)], dim=2)
                seq, finals = out, None  # no pooling that reads finals has windows
                continue
            if len(layer) == 2 and order is None and seq.device.type == "cpu":
                seq, finals = _both_directions(layer, seq, self.training)
                continue
            out, (h_n, _) = layer[0](seq)
            finals = [h_n[0]]  # each direction's state after its last step
            if len(layer) == 2:
                backward, (h_n, _) = layer[1](_reverse(seq, order))
                finals.append(h_n[0])
                out = torch.cat([out, _reverse(backward, order)], dim=2)
            seq = out
        return self._pool(seq, finals, lengths, mask)

    def _draw_window(self, n_steps):
        """``(start, stop)`` of this training batch's window, or None: every step."""
        if not (self.training and self.bptt_window):
            return None
        # One draw per batch, used or not: ranks with batches of other
        # lengths still draw the same numbers.
        u = float(torch.rand((), generator=self.window_generator))
        if n_steps <= self.bptt_window:
            return None
        start = min(int(u * (n_steps - self.bptt_window + 1)), n_steps - self.bptt_window)
        return start, start + self.bptt_window

    def _convolve(self, x, lengths, mask, sample_weight):
        """The convolutional block's mean over each sequence's real steps.

        Padding is zeroed before each convolution, so a real step near a
        sequence's end sees zeros after it, as the convolution's own padding
        gives an unpadded sequence: its output does not depend on the batch.
        """
        h = x.transpose(1, 2)  # (batch, channels, steps)
        keep = None if mask is None else mask[:, None, :].to(x.dtype)
        for conv, norm in self.convs:
            h = torch.relu(norm(conv(h if keep is None else h * keep), keep, sample_weight))
        if keep is None:
            return h.mean(dim=2)
        return (h * keep).sum(dim=2) / lengths[:, None].to(h.dtype)

    def extra_repr(self):
        return (
            f"pooling={self.pooling!r}, normalize={self.normalize!r}, "
            f"lstm_stride={self.lstm_stride}, autocast={self.autocast}, "
            f"autocast_inference={self.autocast_inference}, "
            f"bptt_window={self.bptt_window}"
        )

    def _drop(self, seq):
        if not (self.training and self.dropout.p > 0):
            return seq  # dropout would be the identity: spare its call
        return self.dropout(seq)

    def _pool(self, seq, finals, lengths, mask):
        if self.pooling == "last":
            if lengths is None:  # the final states: cheaper to train through
                return finals[0] if len(finals) == 1 else torch.cat(finals, dim=1)
            # Final states came after reading padding: take the forward
            # output at each sequence's last real step, the backward one at 0.
            hidden = finals[0].shape[1]
            last = seq[torch.arange(seq.shape[0], device=seq.device), lengths - 1, :hidden]
            if len(finals) == 1:
                return last
            return torch.cat([last, seq[:, 0, hidden:]], dim=1)
        parts = []
        if self.pooling in ("mean", "mean_max"):
            if mask is None:
                parts.append(seq.mean(dim=1))
            else:
                total = seq.masked_fill(~mask[:, :, None], 0.0).sum(dim=1)
                parts.append(total / lengths[:, None].to(seq.dtype))
        if self.pooling in ("max", "mean_max"):
            if mask is not None:
                seq = seq.masked_fill(~mask[:, :, None], float("-inf"))
            parts.append(seq.amax(dim=1))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


class SequenceBatchNorm(nn.BatchNorm1d):
    """Batch norm over the real steps of a batch, each sequence weighed.

    In training, the statistics of each channel are the weighted mean and
    variance over the real (unpadded) steps of all sequences, a sequence
    weighing its sample weight: a weight of 2 counts as the sequence twice,
    as in the loss, and padding counts not at all. Without padding and
    weights this is ``nn.BatchNorm1d``. In evaluation, the running
    statistics are used, as in ``nn.BatchNorm1d``.
    """

    # A data-parallel fit's ``_distributed.Group``: the statistics are then
    # those of the whole batch, summed over the ranks' shares of it.
    process_group = None

    def forward(self, h, keep=None, sample_weight=None):
        if not self.training:
            return super().forward(h)
        if self.process_group is not None:
            return self._forward_synced(h, keep, sample_weight)
        update = self.track_running_stats
        if sample_weight is not None and not bool((sample_weight > 0).any()):
            # Sequences of zero weight have no say in the loss, nor here.
            sample_weight, update = None, False
        if keep is None and sample_weight is None and update and h.shape[0] * h.shape[2] > 1:
            return super().forward(h)
        # Statistics in the weights' dtype: under autocast h is bfloat16,
        # whose 8 bits of mantissa would round the sums over the batch.
        h = h.to(self.weight.dtype)
        w = _step_weights(h, keep, sample_weight)
        count = w.sum()  # steps that count, weighted
        mean = (h * w).sum(dim=(0, 2)) / count
        centered = h - mean[:, None]
        var = (centered.square() * w).sum(dim=(0, 2)) / count
        if update:  # nn.BatchNorm1d's update; one value has no unbiased variance
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(var * count / (count - 1).clamp_min(1), self.momentum)
                self.num_batches_tracked += 1
        scale = self.weight * torch.rsqrt(var + self.eps)
        return centered * scale[:, None] + self.bias[:, None]

    def moments(self, h, keep=None, sample_weight=None):
        """``(count, sum, sum of squares)`` of ``h``'s channels over its real steps, weighed.

        As ``forward`` weighs them in training (``keep``: 1 at real steps,
        0 at padding; ``sample_weight``: each sequence's weight), in float64
        so that many batches add up without rounding: ``count`` a scalar,
        the others one value per channel.
        """
        h = h.to(torch.float64)
        w = _step_weights(h, keep, sample_weight).expand(h.shape[0], 1, h.shape[2])
        return w.sum(), (h * w).sum(dim=(0, 2)), (h.square() * w).sum(dim=(0, 2))

    def set_moments(self, count, total, squares):
        """Set the running statistics to the mean and unbiased variance of ``moments``' sums.

        A ``count`` of 0 (nothing weighs) leaves them as they are.
        """
        if not count > 0:
            return
        mean = total / count
        var = (squares / count - mean.square()).clamp_min(0)
        self.running_mean.copy_(mean)
        self.running_var.copy_(var * count / (count - 1).clamp_min(1))

    def _forward_synced(self, h, keep, sample_weight):
        from ._distributed import sum_tensor, sum_value

        group = self.process_group
        h = h.to(self.weight.dtype)  # as in forward
        w = _step_weights(h, keep, sample_weight).expand(h.shape[0], 1, h.shape[2])
        count = sum_value(group, w.sum())
        # A batch of zero weight has no loss: statistics that stay finite.
        safe = count.clamp_min(torch.finfo(h.dtype).tiny)
        mean = sum_tensor(group, (h * w).sum(dim=(0, 2))) / safe
        centered = h - mean[:, None]
        var = sum_tensor(group, (centered.square() * w).sum(dim=(0, 2))) / safe
        if self.track_running_stats and count > 0:
            with torch.no_grad():
                self.running_mean.lerp_(mean, self.momentum)
                self.running_var.lerp_(var * count / (count - 1).clamp_min(1), self.momentum)
                self.num_batches_tracked += 1
        scale = self.weight * torch.rsqrt(var + self.eps)
        return centered * scale[:, None] + self.bias[:, None]


def _step_weights(h, keep, sample_weight):
    """Each step's weight in a batch norm's statistics of ``h``, in ``h``'s dtype.

    ``keep`` (1 at real steps, 0 at padding; None: all real) times each
    sequence's ``sample_weight`` (None: 1), broadcastable to ``h``'s
    ``(batch, 1, steps)``.
    """
    w = h.new_ones(1, 1, h.shape[2]) if keep is None else keep.to(h.dtype)
    if sample_weight is not None:
        w = w * sample_weight.to(h.device, h.dtype)[:, None, None]
    return w


_CONV_KERNELS = (8, 5, 3)  # LSTM-FCN's, then 3 for any further layer


@functools.cache
def _cpu_bf16_lstm():
    """Whether oneDNN runs an LSTM in bfloat16 on this CPU.

    It needs AVX-512 and raises "could not create a primitive descriptor"
    on CPUs without it; there, the LSTM layers compute in float32 under
    autocast (the convolutions and the output layer still in bfloat16).
    """
    with torch.random.fork_rng(devices=[]):  # the probe's weights draw numbers
        lstm = nn.LSTM(1, 1, batch_first=True)
    try:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            lstm(torch.zeros(1, 2, 1))[0].sum().backward()
    except RuntimeError:
        return False
    return True


def standardize_sequences(x, lengths=None, mask=None, return_stats=False):
    """Standardize each sequence of ``x``, per feature, by its own real steps.

    Subtracts the mean and divides by the (population) standard deviation
    of each feature over the sequence's ``lengths`` steps, so that only its
    shape remains, not its level or scale (the UCR archive's convention,
    per series). A feature that is constant within a sequence, up to
    rounding, becomes zeros. Padded steps are left as they come out:
    nothing reads them. ``mask`` is ``steps < lengths``, when the caller
    has it. With ``return_stats``, also returns each sequence's means and
    log standard deviations, shape ``(batch, 2 * n_features)`` (log 1 = 0
    for a constant feature).
    """
    if lengths is None:
        mean = x.mean(dim=1, keepdim=True)
        var = (x - mean).square().mean(dim=1, keepdim=True)
    else:
        if mask is None:
            mask = torch.arange(x.shape[1], device=x.device) < lengths[:, None]
        keep = mask[:, :, None].to(x.dtype)
        count = lengths.to(x.device, x.dtype)[:, None, None]
        mean = (x * keep).sum(dim=1, keepdim=True) / count
        var = ((x - mean) * keep).square().sum(dim=1, keepdim=True) / count
    std = var.sqrt()
    # Rounding leaves a constant sequence a spread of a few ulps of its level.
    constant = std <= 16 * torch.finfo(x.dtype).eps * mean.abs()
    std = torch.where(constant, torch.ones_like(std), std)
    scaled = torch.where(constant, torch.zeros_like(x), (x - mean) / std)
    if not return_stats:
        return scaled
    return scaled, torch.cat([mean[:, 0], std[:, 0].log()], dim=1)


def mean_windows(x, stride, lengths=None, mask=None):
    """Average each run of ``stride`` consecutive real steps of each sequence.

    Returns ``(windows, window_lengths)``: step ``j`` of a sequence becomes
    the mean of its real steps ``j * stride`` to ``(j + 1) * stride - 1``;
    a last, partial window averages the steps it has. ``window_lengths``
    is ``ceil(lengths / stride)`` (None when ``lengths`` is None), and
    padded steps never enter a real window. ``mask`` is ``steps <
    lengths``, when the caller has it.
    """
    n_steps = x.shape[1]
    if n_steps < stride:
        stride = n_steps  # one window all the same, without padding it to stride
    if mask is None:
        mask = torch.ones(x.shape[0], n_steps, dtype=torch.bool, device=x.device)
        if lengths is not None:
            mask = torch.arange(n_steps, device=x.device) < lengths[:, None]
    # Zeros up to a whole number of windows (and at least one), outside the mask.
    extra = (-n_steps) % stride
    keep = torch.nn.functional.pad(mask[:, None, :].to(x.dtype), (0, extra))
    h = torch.nn.functional.pad(x.transpose(1, 2), (0, extra)) * keep
    pool = functools.partial(torch.nn.functional.avg_pool1d, kernel_size=stride)
    # Both pools divide by the stride, so their ratio is the mean over the
    # real steps; windows of padding alone give 0 / (1 / (2 * stride)) = 0.
    windows = (pool(h) / pool(keep).clamp_min(0.5 / stride)).transpose(1, 2)
    if lengths is None:
        return windows, None
    return windows, torch.div(lengths + stride - 1, stride, rounding_mode="floor")


_WEIGHTS = ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")


def _both_directions(layer, seq, training):
    """Run a layer's two LSTMs as one bidirectional LSTM kernel.

    Equivalent to the two calls with the reversal in between, without the
    flips and the concatenation (a few percent of a training step on the
    CPU). Not used on CUDA, where cuDNN would first copy the weights of the
    two modules into one buffer.
    """
    weights = [getattr(lstm, name) for lstm in layer for name in _WEIGHTS]
    h_0 = seq.new_zeros(2, seq.shape[0], layer[0].hidden_size)
    out, h_n, _ = torch.lstm(seq, (h_0, h_0), weights, True, 1, 0.0, training, True, True)
    return out, [h_n[0], h_n[1]]


def _read_window(lstm, seq, start, stop):
    """``lstm``'s outputs at every step of ``seq``, with gradients from steps ``start:stop`` only.

    The steps before the window give its initial state, those after it
    continue from its final state, both without recording gradients: the
    outputs are those of one call over all steps.
    """
    with torch.no_grad():
        parts, state = _read_in_pieces(lstm, seq[:, :start], None)
    out, state = lstm(seq[:, start:stop], state)
    parts.append(out)
    with torch.no_grad():
        parts += _read_in_pieces(lstm, seq[:, stop:], state)[0]
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


def _read_in_pieces(lstm, seq, state):
    """``lstm``'s outputs over ``seq`` from ``state``, read in pieces of 2**k steps.

    The CPU's LSTM (oneDNN) caches one primitive, with its own memory, per
    sequence length: the windows' prefixes and suffixes, of every length up
    to the series', would fill that cache (tens of MiB). Pieces of powers of
    two bound it to a few lengths, at the cost of a few more calls.
    """
    parts, done = [], 0
    while done < seq.shape[1]:
        size = 1 << ((seq.shape[1] - done).bit_length() - 1)
        out, state = lstm(seq[:, done : done + size], state)
        parts.append(out)
        done += size
    return parts, state


def _reverse(seq, order):
    """Reverse each sequence in time: all steps, or the real ones (``order``)."""
    if order is None:
        return seq.flip(1)
    return seq.gather(1, order[:, :, None].expand(-1, -1, seq.shape[2]))
