"""Cost of a training step with truncated back-propagation against every step.

Times one optimizer step (forward, loss, backward, Adam) of the default
classifier's network (bidirectional LSTM(32), the ``(32, 64, 32)``
convolutional block, mean and max pooling) on a batch of 32 univariate
sequences of each length, with ``bptt_window`` 64 and 128 (the LSTM
back-propagates through one random window of that many steps) and with
``bptt_window=None`` (every step), taking turns so that a slow phase of a
shared machine hits all alike. The lengths are those of the
accuracy suite's long series (GunPoint 150, ArrowHead 251, OSULeaf 427)
and of ACSF1 (1460). Prints the median milliseconds per step and the
paired ratio of each window's step to the full one's.

Usage::

    python benchmarks/bptt_speed.py
    python benchmarks/bptt_speed.py --lengths 427 --windows 32 64 --repeats 20
"""

import argparse

import torch
from _timing import interleaved, machine, median, paired_ratio, print_markdown_table
from torch import nn

from sklstm._cpu import flush_denormal
from sklstm._module import LSTMNet


def step_function(length, window, batch=32, n_classes=10):
    """One training step of the default network on a fixed random batch."""
    torch.manual_seed(0)
    net = LSTMNet(
        1, n_classes, hidden_sizes=(32,), bidirectional=True, conv_channels=(32, 64, 32),
        bptt_window=window,
    ).train()
    net.window_generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(batch, length, 1)
    y = torch.randint(0, n_classes, (batch,))
    loss = nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss(net(x), y).backward()
        optimizer.step()

    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[150, 251, 427, 1460])
    parser.add_argument("--windows", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    print(machine())
    rows = []
    with flush_denormal():
        for length in args.lengths:
            steps = {None: step_function(length, None)}
            steps.update((w, step_function(length, w)) for w in args.windows)
            times = interleaved(steps, args.repeats)
            row = [str(length), f"{1000 * median(times[None]):.1f}"]
            for w in args.windows:
                row += [
                    f"{1000 * median(times[w]):.1f}",
                    f"{paired_ratio(times[w], times[None]):.2f}",
                ]
            rows.append(row)
    header = ["steps", "every step: ms per step"]
    for w in args.windows:
        header += [f"bptt_window={w}: ms per step", "ratio"]
    print_markdown_table(header, rows)


if __name__ == "__main__":
    main()
