"""How fit time grows with the number of sequences and with their length.

Fits LSTMSequenceClassifier (LSTM(64) + Linear, batch 32, 2 epochs) on
equal-length data while one size doubles: the number of sequences at 50
steps, then the number of steps for 1024 sequences. The hand-written loop
of ``fit_speed.py`` runs the same sizes in the same rounds as the baseline.

The table shows median seconds, the cost per sequence-step relative to the
smallest size (1.00 everywhere means linear), and the ratio to the
hand-written loop. Under each part: the exponent of a least-squares fit of
log time on log size, and the exponent between the two largest sizes,
which tells the growth once fixed costs (per fit, per batch) are amortized.
1 is linear. Short sequences cost more per step: each batch pays a fixed
price (the optimizer step, Python) whatever its length.

Usage::

    python benchmarks/scaling.py
"""

import numpy as np
from _timing import interleaved, median, paired_ratio, parse_args, print_table, sequence_data
from fit_speed import hand_fit, sklstm_fit

MODEL = dict(hidden=64, bidirectional=False, pooling="last", clip=None, batch_size=32)


def main(argv=None):
    args = parse_args(__doc__, argv, epochs=2, repeats=5)
    print(f"LSTM(64) + Linear, batch 32, {args.epochs} epochs, 8 features; "
          f"median of {args.repeats} interleaved rounds\n")

    parts = {
        "sequences": [(n, 50) for n in (512, 1024, 2048, 4096)],
        "steps": [(1024, t) for t in (25, 50, 100, 200)],
    }
    for grows, sizes in parts.items():
        data = {size: sequence_data(*size, 8) for size in sizes}
        contenders = {}
        for size, (X, y) in data.items():
            contenders[("sklstm", size)] = lambda X=X, y=y: sklstm_fit(
                X, y, epochs=args.epochs, **MODEL
            )
            contenders[("hand", size)] = lambda X=X, y=y: hand_fit(
                X, y, epochs=args.epochs, **MODEL
            )
        times = interleaved(contenders, args.repeats)
        rows, seconds, work = [], [], []
        base_cost = None
        for size in sizes:
            runs = times[("sklstm", size)]
            cost = median(runs) / (size[0] * size[1])
            base_cost = base_cost or cost
            rows.append([
                size[0], size[1], median(runs), f"{cost / base_cost:.2f}",
                f"{paired_ratio(runs, times[('hand', size)]):.3f}",
            ])
            seconds.append(median(runs))
            work.append(size[0] * size[1])
        print(f"Growing the number of {grows}")
        print_table(
            ["sequences", "steps", "seconds", "cost per seq-step", "vs hand-written"], rows
        )
        overall = np.polyfit(np.log(work), np.log(seconds), 1)[0]
        largest = np.log(seconds[-1] / seconds[-2]) / np.log(work[-1] / work[-2])
        if largest > 1.15:
            verdict = "MORE than linear"
        elif largest < 0.85:
            verdict = "less than linear: fixed costs per batch or fit still count"
        else:
            verdict = "linear"
        print(
            f"time ~ size^{overall:.2f} over all sizes, ^{largest:.2f} between the two "
            f"largest: {verdict}\n"
        )


if __name__ == "__main__":
    main()
