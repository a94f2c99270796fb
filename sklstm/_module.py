"""The PyTorch network: stacked LSTM layers, pooling over time, a linear head.

This module knows nothing of scikit-learn. It takes a padded batch
``x`` of shape ``(batch, time, features)`` with the true ``lengths`` of the
sequences and returns one row of class scores (logits) per sequence.
"""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

POOLINGS = ("last", "mean", "max", "mean_max")


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
    """

    def __init__(
        self,
        n_features,
        n_outputs,
        hidden_sizes=(64,),
        bidirectional=False,
        dropout=0.0,
        pooling="mean_max",
        dtype=torch.float32,
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}.")
        self.pooling = pooling
        directions = 2 if bidirectional else 1
        self.lstms = nn.ModuleList()
        size_in = n_features
        for hidden in hidden_sizes:
            self.lstms.append(
                nn.LSTM(
                    size_in, hidden, batch_first=True, bidirectional=bidirectional,
                    dtype=dtype,
                )
            )
            size_in = hidden * directions
        self.dropout = nn.Dropout(dropout)
        pooled_size = size_in * (2 if pooling == "mean_max" else 1)
        self.head = nn.Linear(pooled_size, n_outputs, dtype=dtype)

    def forward(self, x, lengths):
        """Return logits of shape ``(batch, n_outputs)``.

        ``lengths`` is None when every sequence fills all ``x.shape[1]``
        steps, else a CPU int64 tensor; positions of ``x`` at or beyond a
        sequence's length are padding and never influence its output.
        """
        n_steps = x.shape[1]
        ragged = lengths is not None and bool((lengths != n_steps).any())
        seq = x
        if ragged:
            seq = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        for i, lstm in enumerate(self.lstms):
            if i > 0:
                seq = self._drop(seq, ragged)
            seq, (h_n, _) = lstm(seq)
        pooled = self._pool(seq, h_n, lengths, ragged, n_steps)
        return self.head(self._drop(pooled, False))

    def _drop(self, seq, ragged):
        if not (self.training and self.dropout.p > 0):
            return seq  # dropout would be the identity: spare its call
        if ragged:
            return seq._replace(data=self.dropout(seq.data))
        return self.dropout(seq)

    def _pool(self, seq, h_n, lengths, ragged, n_steps):
        if self.pooling == "last":
            # h_n holds each direction's state after reading the whole
            # (unpadded) sequence: forward at its last step, backward at step 0.
            return h_n[0] if len(h_n) == 1 else torch.cat([h_n[0], h_n[1]], dim=1)
        mask = None
        if ragged:
            seq, _ = pad_packed_sequence(seq, batch_first=True, total_length=n_steps)
            steps = torch.arange(n_steps, device=seq.device)
            mask = steps[None, :] < lengths.to(seq.device)[:, None]
        parts = []
        if self.pooling in ("mean", "mean_max"):
            if ragged:  # padded outputs are zero: the sum covers the real steps
                parts.append(seq.sum(dim=1) / lengths.to(seq.device, seq.dtype)[:, None])
            else:
                parts.append(seq.mean(dim=1))
        if self.pooling in ("max", "mean_max"):
            if ragged:
                seq = seq.masked_fill(~mask[:, :, None], float("-inf"))
            parts.append(seq.amax(dim=1))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)
