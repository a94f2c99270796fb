"""Fit throughput of LSTMSequenceClassifier against a hand-written PyTorch loop.

The baseline is what one writes by hand: the data as two tensors in memory,
``torch.randperm`` batches, ``zero_grad / loss / backward / (clip) / step``
and the epoch's loss read with ``.item()``. It trains its own ``nn.Module``
(``nn.LSTM`` + ``nn.Linear``, no sklstm code) with the same architecture,
optimizer (Adam, lr 3e-3), loss, batch size, epochs and torch thread count
as the classifier, which is told to train what such a loop trains
(``_timing.PLAIN``: the inputs as given, every step back-propagated,
float32, every epoch). For reference, plain skorch (``NeuralNetClassifier``
with the hand-written module and ``train_split=None``) is timed as well
(except on the last model).
The classifier's time includes everything its ``fit`` does: validating X
and y, building the network, training.

The classifier steps Adam with torch's fused kernel (``fused=True``: the
same update in one pass per parameter), which the plain hand-written loop,
as most write it, does not. So a second hand-written loop with
``Adam(..., fused=True)`` is timed too: the classifier's ratio to it is
the cost of the wrapper alone.

The last model trains on inputs a hundred times larger (as unscaled sensor
readings are): its saturated gates produce denormal floats, which the
classifier flushes to zero in all of torch's threads while the hand-written
loop, as written by most, does not.

The contenders take turns (interleaved rounds after one warm-up round). The
table shows median seconds per fit, sequences per second and the ratios to
the two hand-written loops, each the median over rounds of the two times' ratio, with
a bootstrap 95% interval. On a shared machine single runs vary by 5% or
more; many short paired rounds pin the ratio down to about 1%.

Usage::

    python benchmarks/fit_speed.py                 # 2048 x 50 steps x 8 features
    python benchmarks/fit_speed.py --threads 1 --repeats 61
"""

import numpy as np
import torch
from _timing import PLAIN, interleaved, median, parse_args, print_table, ratio_text, sequence_data
from torch import nn

from sklstm import LSTMSequenceClassifier

CONFIGS = {
    # name: (bidirectional, pooling, gradient clipping, scale of the inputs)
    "LSTM + Linear": (False, "last", None, 1),
    "biLSTM, mean+max, clip 1": (True, "mean_max", 1.0, 1),
    "LSTM + Linear, inputs x100": (False, "last", None, 100),
}


class HandLSTM(nn.Module):
    """The network written by hand: an LSTM, pooling over time, a linear layer."""

    def __init__(self, n_features, n_classes, hidden, bidirectional, pooling):
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, batch_first=True, bidirectional=bidirectional)
        size = hidden * (2 if bidirectional else 1) * (2 if pooling == "mean_max" else 1)
        self.pooling = pooling
        self.head = nn.Linear(size, n_classes)

    def forward(self, x):
        out, (h, _) = self.lstm(x)
        if self.pooling == "last":
            z = h[-1] if h.shape[0] == 1 else torch.cat([h[0], h[1]], dim=1)
        else:
            z = torch.cat([out.mean(dim=1), out.amax(dim=1)], dim=1)
        return self.head(z)


def hand_fit(
    X, y, *, hidden, bidirectional, pooling, clip, epochs, batch_size, seed=0, fused=None
):
    torch.manual_seed(seed)
    n_classes = int(y.max()) + 1
    model = HandLSTM(X.shape[2], n_classes, hidden, bidirectional, pooling)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3, fused=fused)
    loss_fn = nn.CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    model.train()
    for _ in range(epochs):
        total = 0.0
        for idx in torch.randperm(len(X_t)).split(batch_size):
            optimizer.zero_grad()
            loss = loss_fn(model(X_t[idx]), y_t[idx])
            loss.backward()
            if clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            total += loss.item() * len(idx)
    return model, total / len(X_t)


def skorch_fit(X, y, *, hidden, bidirectional, pooling, clip, epochs, batch_size, seed=0):
    from skorch import NeuralNetClassifier
    from skorch.callbacks import GradientNormClipping

    torch.manual_seed(seed)
    net = NeuralNetClassifier(
        HandLSTM,
        module__n_features=X.shape[2],
        module__n_classes=int(y.max()) + 1,
        module__hidden=hidden,
        module__bidirectional=bidirectional,
        module__pooling=pooling,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.Adam,
        lr=3e-3,
        max_epochs=epochs,
        batch_size=batch_size,
        iterator_train__shuffle=True,
        train_split=None,
        callbacks=[GradientNormClipping(clip)] if clip is not None else None,
        verbose=0,
    )
    return net.fit(X, y)


def sklstm_fit(X, y, *, hidden, bidirectional, pooling, clip, epochs, batch_size, seed=0):
    clf = LSTMSequenceClassifier(
        hidden,
        bidirectional=bidirectional,
        pooling=pooling,
        conv_channels=None,
        lr_schedule="constant",
        gradient_clip=clip,
        max_epochs=epochs,
        batch_size=batch_size,
        random_state=seed,
        **PLAIN,
    )
    return clf.fit(X, y)


def main(argv=None):
    args = parse_args(
        __doc__, argv, samples=2048, timesteps=50, features=8, hidden=64, batch_size=32,
        epochs=4, repeats=21,
        extra=[(("--no-skorch",), dict(action="store_true", help="skip plain skorch"))],
    )

    X, y = sequence_data(args.samples, args.timesteps, args.features)
    print(
        f"{args.samples} sequences x {args.timesteps} steps x {args.features} features, "
        f"LSTM({args.hidden}), batch {args.batch_size}, {args.epochs} epochs; "
        f"median of {args.repeats} "
        "interleaved rounds\n"
    )
    rows = []
    for name, (bidirectional, pooling, clip, scale) in CONFIGS.items():
        X_run = X * np.float32(scale)
        params = dict(
            hidden=args.hidden, bidirectional=bidirectional, pooling=pooling, clip=clip,
            epochs=args.epochs, batch_size=args.batch_size,
        )
        contenders = {
            "hand-written": lambda: hand_fit(X_run, y, **params),
            "hand-written, fused Adam": lambda: hand_fit(X_run, y, fused=True, **params),
        }
        if not args.no_skorch and scale == 1:
            contenders["skorch"] = lambda: skorch_fit(X_run, y, **params)
        contenders["sklstm"] = lambda: sklstm_fit(X_run, y, **params)
        times = interleaved(contenders, args.repeats)
        base = times["hand-written"]
        fused = times["hand-written, fused Adam"]
        for who, runs in times.items():
            rate = args.samples * args.epochs / median(runs)
            rows.append([
                name, who, median(runs), f"{rate:.0f}", ratio_text(runs, base),
                ratio_text(runs, fused),
            ])
    print_table(
        ["model", "fit by", "seconds", "sequences/s", "ratio to hand-written (95% interval)",
         "ratio to hand-written, fused Adam"],
        rows,
    )


if __name__ == "__main__":
    main()
