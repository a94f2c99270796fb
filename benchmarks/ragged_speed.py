"""Variable-length sequences against equal-length ones of the same total size.

Both data sets hold the same number of sequences and of time steps: the
equal-length one has every sequence ``--timesteps`` long, the ragged one has
lengths drawn uniformly between a fifth of that and nine fifths of it (a
list of arrays), rescaled to the same total. The classifier pads each batch
(to ``sklstm._data.padded_width`` of its longest sequence) and runs the
dense LSTM kernel, masking the padding; padding costs steps and memory
traffic. A packed batch (``pack_padded_sequence``) runs as many steps as
its longest sequence, with fewer rows as the shorter sequences end.

For each, a hand-written loop (list of tensors, ``pad_sequence`` and
``pack_padded_sequence`` per batch for the ragged data) is the baseline of
the same run. The table gives median seconds per fit (and per
predict_proba), the ratio of each to its hand-written loop, and what the
ragged data cost against the equal-length data.

Usage::

    python benchmarks/ragged_speed.py
"""

import numpy as np
import torch
from _timing import PLAIN, interleaved, median, paired_ratio, parse_args, print_table, ratio_text
from fit_speed import HandLSTM, hand_fit
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

from sklstm import LSTMSequenceClassifier


def ragged_data(n_samples, mean_length, n_features, seed=0):
    """Sequences of uniform random lengths with ``n_samples * mean_length`` steps."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(mean_length // 5, 9 * mean_length // 5 + 1, n_samples)
    lengths = np.maximum(1, np.round(lengths * mean_length * n_samples / lengths.sum()))
    lengths = lengths.astype(int)
    lengths[0] += n_samples * mean_length - lengths.sum()  # the exact same total
    y = rng.integers(0, 2, n_samples)
    X = [
        (rng.standard_normal((n, n_features)) + 0.5 * label).astype(np.float32)
        for n, label in zip(lengths, y)
    ]
    return X, y


class PackedHandLSTM(HandLSTM):
    def forward(self, x, lengths):
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return self.head(h[-1])


def hand_fit_ragged(X, y, *, hidden, epochs, batch_size, seed=0):
    torch.manual_seed(seed)
    model = PackedHandLSTM(X[0].shape[1], 2, hidden, False, "last")
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    seqs = [torch.from_numpy(x) for x in X]
    lengths, y_t = torch.tensor([len(x) for x in X]), torch.from_numpy(y)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(seqs)).split(batch_size):
            batch = pad_sequence([seqs[i] for i in idx], batch_first=True)
            optimizer.zero_grad()
            loss = loss_fn(model(batch, lengths[idx]), y_t[idx])
            loss.backward()
            optimizer.step()
            loss.item()
    return model


def hand_predict_ragged(model, X, batch_size):
    seqs = [torch.from_numpy(x) for x in X]
    lengths = torch.tensor([len(x) for x in X])
    model.eval()
    with torch.inference_mode():
        logits = [
            model(pad_sequence(seqs[i : i + batch_size], batch_first=True), lengths[i : i + batch_size])
            for i in range(0, len(seqs), batch_size)
        ]
        return torch.softmax(torch.cat(logits), dim=1).numpy()


def hand_predict_equal(model, X, batch_size):
    X_t = torch.from_numpy(X)
    model.eval()
    with torch.inference_mode():
        logits = [model(X_t[i : i + batch_size]) for i in range(0, len(X_t), batch_size)]
        return torch.softmax(torch.cat(logits), dim=1).numpy()


def main(argv=None):
    args = parse_args(
        __doc__, argv, samples=2048, timesteps=50, features=8, hidden=64, batch_size=32,
        epochs=2, repeats=15,
    )

    X_ragged, y = ragged_data(args.samples, args.timesteps, args.features)
    X_equal = np.stack([
        np.random.default_rng(i).standard_normal((args.timesteps, args.features))
        for i in range(args.samples)
    ]).astype(np.float32) + 0.5 * y[:, None, None].astype(np.float32)
    lengths = [len(x) for x in X_ragged]
    print(
        f"{args.samples} sequences, {args.features} features, LSTM({args.hidden}) + Linear, "
        f"batch {args.batch_size}: equal length {args.timesteps}, or ragged lengths "
        f"{min(lengths)}-{max(lengths)} (same total {sum(lengths)} steps); "
        f"median of {args.repeats} interleaved rounds\n"
    )
    common = dict(hidden=args.hidden, epochs=args.epochs, batch_size=args.batch_size)

    def sklstm_fit(X):
        return LSTMSequenceClassifier(
            args.hidden, bidirectional=False, pooling="last", conv_channels=None,
            lr_schedule="constant", gradient_clip=None,
            max_epochs=args.epochs, batch_size=args.batch_size, random_state=0, **PLAIN,
        ).fit(X, y)

    fit_times = interleaved(
        {
            "equal, hand-written": lambda: hand_fit(
                X_equal, y, bidirectional=False, pooling="last", clip=None, **common
            ),
            "equal, sklstm": lambda: sklstm_fit(X_equal),
            "ragged, hand-written": lambda: hand_fit_ragged(X_ragged, y, **common),
            "ragged, sklstm": lambda: sklstm_fit(X_ragged),
        },
        args.repeats,
    )
    clf_equal, clf_ragged = sklstm_fit(X_equal), sklstm_fit(X_ragged)
    hand_equal = HandLSTM(args.features, 2, args.hidden, False, "last")
    hand_ragged = PackedHandLSTM(args.features, 2, args.hidden, False, "last")
    size = args.batch_size
    predict_times = interleaved(
        {
            "equal, hand-written": lambda: hand_predict_equal(hand_equal, X_equal, size),
            "equal, sklstm": lambda: clf_equal.predict_proba(X_equal),
            "ragged, hand-written": lambda: hand_predict_ragged(hand_ragged, X_ragged, size),
            "ragged, sklstm": lambda: clf_ragged.predict_proba(X_ragged),
        },
        args.repeats,
    )
    rows = []
    for task, times in (("fit", fit_times), ("predict_proba", predict_times)):
        for name, runs in times.items():
            data, who = name.split(", ")
            hand = times[f"{data}, hand-written"]
            equal = times[f"equal, {who}"]
            rows.append([
                task, data, who, median(runs), ratio_text(runs, hand),
                f"{paired_ratio(runs, equal):.2f}",
            ])
    print_table(
        ["task", "data", "by", "seconds", "vs hand-written (95%)", "vs equal length"], rows
    )


if __name__ == "__main__":
    main()
