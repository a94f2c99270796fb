"""Fit and predict speed on CUDA against a hand-written cuDNN loop, in one run.

The baseline holds the data on the GPU as two tensors and trains
``nn.LSTM`` + ``nn.Linear`` (cuDNN's LSTM) with ``torch.randperm`` batches,
Adam (fused) and ``.item()`` per epoch; prediction is ``model(x)`` in
batches under ``torch.inference_mode``. sklstm fits the same architecture
(``conv_channels=None``, constant lr) from numpy arrays in host memory, as
its users call it, and the default model for reference. Each contender is
timed ``--repeats`` times in turn after a warm-up; the table gives the
median seconds and the ratio to the baseline.

Usage::

    python benchmarks/gpu_speed.py            # 8192 x 100 steps x 16 features
    python benchmarks/gpu_speed.py --quick    # a smaller run (CI of the GPU check)
"""

import argparse
import statistics
import sys
import time

import numpy as np
import torch
from _timing import PLAIN
from torch import nn

from sklstm import LSTMSequenceClassifier


class HandLSTM(nn.Module):
    def __init__(self, n_features, n_classes, hidden):
        super().__init__()
        self.lstm = nn.LSTM(n_features, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(4 * hidden, n_classes)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(torch.cat([out.mean(dim=1), out.amax(dim=1)], dim=1))


def synced(fn):
    def run():
        torch.cuda.synchronize()
        start = time.perf_counter()
        result = fn()
        torch.cuda.synchronize()
        return time.perf_counter() - start, result
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("No CUDA device: nothing to measure (torch.cuda.is_available() is False).")
        return 0
    n, steps, features, hidden, epochs = (2048, 50, 8, 32, 3) if args.quick else (8192, 100, 16, 64, 5)
    batch = 128
    rng = np.random.RandomState(0)
    X = rng.randn(n, steps, features).astype(np.float32)
    y = (X[:, :, 0].mean(axis=1) > 0).astype(np.int64)
    print(f"{torch.cuda.get_device_name()} | torch {torch.__version__} | cuDNN "
          f"{torch.backends.cudnn.version()} | {n} x {steps} steps x {features} features, "
          f"hidden {hidden}, batch {batch}, {epochs} epochs")

    def hand_fit():
        torch.manual_seed(0)
        model = HandLSTM(features, 2, hidden).cuda()
        opt = torch.optim.Adam(model.parameters(), lr=3e-3, fused=True)
        loss_fn = nn.CrossEntropyLoss()
        X_t, y_t = torch.from_numpy(X).cuda(), torch.from_numpy(y).cuda()
        for _ in range(epochs):
            total = 0.0
            for idx in torch.randperm(n, device="cuda").split(batch):
                opt.zero_grad()
                loss = loss_fn(model(X_t[idx]), y_t[idx])
                loss.backward()
                opt.step()
                total += loss.item()
        return model

    def sklstm_fit(**params):
        return LSTMSequenceClassifier(
            hidden, device="cuda", max_epochs=epochs, batch_size=batch, random_state=0,
            **params,
        ).fit(X, y)

    contenders = {
        "hand-written cuDNN loop": hand_fit,
        "sklstm, same model": lambda: sklstm_fit(
            conv_channels=None, lr_schedule="constant", gradient_clip=None, **PLAIN,
        ),
        "sklstm defaults (conv block)": lambda: sklstm_fit(),
    }
    fit_times = {name: [] for name in contenders}
    models = {}
    for round_ in range(args.repeats + 1):
        for name, fn in contenders.items():
            seconds, models[name] = synced(fn)()
            if round_:
                fit_times[name].append(seconds)

    hand = models["hand-written cuDNN loop"].eval()
    X_t = torch.from_numpy(X)

    def hand_predict():
        with torch.inference_mode():
            return torch.cat([
                hand(X_t[i : i + 256].cuda()).softmax(dim=1).cpu() for i in range(0, n, 256)
            ])

    predictors = {
        "hand-written cuDNN loop": hand_predict,
        "sklstm, same model": lambda: models["sklstm, same model"].predict_proba(X),
        "sklstm defaults (conv block)": lambda: models["sklstm defaults (conv block)"].predict_proba(X),
    }
    predict_times = {name: [] for name in predictors}
    for round_ in range(args.repeats + 1):
        for name, fn in predictors.items():
            seconds, _ = synced(fn)()
            if round_:
                predict_times[name].append(seconds)

    base_fit = statistics.median(fit_times["hand-written cuDNN loop"])
    base_predict = statistics.median(predict_times["hand-written cuDNN loop"])
    print(f"\n{'contender':32s} {'fit s':>8s} {'x hand':>7s} {'predict s':>10s} {'x hand':>7s} {'seq/s fit':>10s}")
    for name in contenders:
        fit_s, predict_s = statistics.median(fit_times[name]), statistics.median(predict_times[name])
        print(f"{name:32s} {fit_s:8.2f} {fit_s / base_fit:7.2f} {predict_s:10.3f} "
              f"{predict_s / base_predict:7.2f} {n * epochs / fit_s:10.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
