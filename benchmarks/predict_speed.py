"""predict_proba of LSTMSequenceClassifier against a raw forward pass.

For a fitted classifier, the baseline runs its PyTorch module by hand: the
data as one tensor, batches sliced from it, ``torch.inference_mode()``,
softmax, one NumPy array at the end. The classifier's ``predict_proba``
takes the NumPy array and does everything else itself (validation included).

- Throughput: 4096 sequences, by a classifier trained at ``batch_size=32``
  (``predict_batch_size="auto"``), against the raw loop at batch 256 and 32.
- Latency: one sequence per call, the case of a model behind a service;
  the overhead is the median over rounds of the paired difference.

Contenders take turns in interleaved rounds; ratios are medians of paired
ratios with a bootstrap 95% interval (see ``_timing.py``).

Usage::

    python benchmarks/predict_speed.py
    python benchmarks/predict_speed.py --threads 1
"""

import statistics

import numpy as np
import torch
from _timing import interleaved, median, parse_args, print_table, ratio_text, sequence_data

from sklstm import LSTMSequenceClassifier

MODELS = {
    # name: (bidirectional, pooling, conv_channels)
    "LSTM + Linear": (False, "last", None),
    "biLSTM, mean+max": (True, "mean_max", None),
    "biLSTM, mean+max, block (32, 64, 32)": (True, "mean_max", (32, 64, 32)),
}


def raw_predict_proba(module, X, batch_size):
    """What one writes by hand to get probabilities from a trained module."""
    X_t = torch.from_numpy(X)
    module.eval()
    with torch.inference_mode():
        logits = [module(X_t[i : i + batch_size], None) for i in range(0, len(X_t), batch_size)]
        return torch.softmax(torch.cat(logits), dim=1).numpy()


def main(argv=None):
    args = parse_args(
        __doc__, argv, samples=4096, timesteps=50, features=8, hidden=64, repeats=31,
        calls=200,  # single-sample calls per round
    )

    X, y = sequence_data(args.samples, args.timesteps, args.features)
    print(
        f"{args.samples} sequences x {args.timesteps} steps x {args.features} features, "
        f"LSTM({args.hidden}); median of {args.repeats} interleaved rounds\n"
    )
    throughput, latency = [], []
    for name, (bidirectional, pooling, conv_channels) in MODELS.items():
        # Trained at batch 32; predict_proba picks its own batch size.
        clf = LSTMSequenceClassifier(
            args.hidden, bidirectional=bidirectional, pooling=pooling,
            conv_channels=conv_channels, batch_size=32, max_epochs=1, random_state=0,
        ).fit(X, y)
        module = clf.net_.module_
        assert np.allclose(clf.predict_proba(X), raw_predict_proba(module, X, 256), atol=1e-6)
        times = interleaved(
            {
                "raw forward, batch 256": lambda: raw_predict_proba(module, X, 256),
                "raw forward, batch 32": lambda: raw_predict_proba(module, X, 32),
                "predict_proba": lambda: clf.predict_proba(X),
            },
            args.repeats,
        )
        base = times["raw forward, batch 256"]
        for who, runs in times.items():
            rate = args.samples / median(runs)
            throughput.append([name, who, f"{rate:.0f}", ratio_text(runs, base)])

        one = X[:1]
        times = interleaved(
            {
                "raw forward": lambda: raw_predict_proba(module, one, 1),
                "predict_proba": lambda: clf.predict_proba(one),
            },
            args.repeats,
            number=args.calls,
        )
        base = times["raw forward"]
        extra = statistics.median(t - b for t, b in zip(times["predict_proba"], base))
        for who, runs in times.items():
            latency.append([
                name, who, f"{1e6 * median(runs):.0f}",
                f"{1e6 * extra:.0f}" if who == "predict_proba" else "",
                ratio_text(runs, base),
            ])

    print("Throughput (sequences per second)")
    print_table(["model", "by", "sequences/s", "ratio to raw batch 256 (95% interval)"], throughput)
    print("\nOne sequence per call")
    print_table(["model", "by", "us per call", "overhead us", "ratio (95% interval)"], latency)


if __name__ == "__main__":
    main()
