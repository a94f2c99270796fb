"""sklstm's default classifier against the seed's Keras models and ROCKET, in one run.

Each contender fits the official training split of each data set in a
fresh process, on the same number of threads, and is scored by accuracy on
the test split; fit time is the ``fit`` call (for Keras, building and
compiling the model too). Contenders:

- ``sklstm``: ``LSTMSequenceClassifier(random_state=seed)``, its defaults;
  a one-epoch fit first, outside the time, pays what the first fit of a
  process pays once (about 1.5 s: torch imports ``torch._dynamo`` when it
  builds the first optimizer), as ROCKET's compilation below;
- the seed document's three Keras models, in tensorflow-cpu's Keras as
  written there (batch 32, 10 epochs):
  ``keras-ex1`` LSTM(64) -> softmax, Adam; ``keras-ex2`` LSTM(128) ->
  Dropout(0.2) -> LSTM(64) -> Dropout(0.2) -> softmax, Adam; ``keras-ex3``
  BiLSTM(64) -> BiLSTM(32) -> softmax, RMSprop, 20% validation split;
  and ``keras-ex1-100``, ex. 1 trained for 100 epochs. Ragged sequences
  are padded with zeros in front (``keras.utils.pad_sequences``' default),
  as a Keras user would;
- ``rocket``: sktime's ``RocketClassifier`` (10,000 kernels; A. Dempster,
  F. Petitjean and G. I. Webb (2020), "ROCKET: exceptionally fast and
  accurate time series classification using random convolutional
  kernels", Data Mining and Knowledge Discovery 34, 1454-1495), on
  sktime's channels-first layout, ragged sequences padded with zeros at the
  end; its numba functions are compiled by a small fit first, outside the
  time.

``--resamples N`` fits every contender on N splits of each data set:
the official one, then stratified re-splits with the official training
set's size and class counts (tsml-eval's resamples; ``_archives.py``).

Keras and ROCKET run in the benchmark-only environment ``benchmarks/.peers``
(``make peers``; tensorflow-cpu and sktime pin ``pandas<3.1``, which the
project's environment cannot share). The data: JapaneseVowels (bundled),
the UCR/UEA sets in aeon's wheel and PLAID in sktime's (``_archives.py``).

Usage::

    python benchmarks/peers.py                                 # all, seed 0
    python benchmarks/peers.py --datasets GunPoint --seeds 3
    python benchmarks/peers.py --contenders sklstm rocket
    python benchmarks/peers.py --contenders sklstm rocket --param bptt_window=64
    python benchmarks/peers.py --datasets ArrowHead --contenders sklstm rocket --resamples 10
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from _workers import load_data, pad, run_worker

# name: (package whose wheel holds it, kind)
DATASETS = {
    "JapaneseVowels": ("sklstm", "12 channels, 7-29 steps"),
    "GunPoint": ("aeon", "150 steps"),
    "BasicMotions": ("aeon", "6 channels, 100 steps"),
    "ArrowHead": ("aeon", "251 steps"),
    "ItalyPowerDemand": ("aeon", "24 steps"),
    "PickupGestureWiimoteZ": ("aeon", "29-361 steps, 10 classes"),
    "ACSF1": ("aeon", "1460 steps, 10 classes"),
    "PLAID": ("sktime", "100-1344 steps, 11 classes"),
}
SMALL = ("JapaneseVowels", "GunPoint", "BasicMotions", "ArrowHead", "ItalyPowerDemand")

# name: (environment is the peers', label)
CONTENDERS = {
    "sklstm": (False, "sklstm default"),
    "keras-ex1": (True, "Keras ex. 1 (10 epochs)"),
    "keras-ex1-100": (True, "Keras ex. 1, 100 epochs"),
    "keras-ex2": (True, "Keras ex. 2"),
    "keras-ex3": (True, "Keras ex. 3 (BiLSTM)"),
    "rocket": (True, "ROCKET"),
}
# Keras contenders: (the seed's example, epochs).
KERAS = {"keras-ex1": (1, 10), "keras-ex1-100": (1, 100), "keras-ex2": (2, 10), "keras-ex3": (3, 10)}


def load(name, resamples=1):
    """Per resample (0: the official split), ``{"X_train", "X_test", "y_train", "y_test"}``.

    The data set is read once; labels are encoded as 0..n_classes-1.
    """
    from _archives import load_ts, resample

    if name == "JapaneseVowels":
        from sklstm.datasets import load_japanese_vowels

        data = load_japanese_vowels(return_X_y=True)
    else:
        data = load_ts(DATASETS[name][0], name)
    classes = np.unique(np.concatenate([data[2], data[3]]))
    splits = []
    for k in range(resamples):
        X_train, X_test, y_train, y_test = resample(*data, k)
        splits.append({
            "X_train": X_train, "X_test": X_test,
            "y_train": np.searchsorted(classes, y_train),
            "y_test": np.searchsorted(classes, y_test),
        })
    return splits


# Workers: each fits one contender and returns (fitted predict function, seconds).

def fit_sklstm(data, seed, threads, params=()):
    import torch
    from _timing import literal_params

    from sklstm import LSTMSequenceClassifier

    torch.set_num_threads(threads)
    LSTMSequenceClassifier(max_epochs=1).fit(data["X_train"], data["y_train"])  # warm-up
    clf = LSTMSequenceClassifier(random_state=seed, **literal_params(params))
    start = time.perf_counter()
    clf.fit(data["X_train"], data["y_train"])
    return clf.predict, time.perf_counter() - start


def fit_keras(data, seed, threads, example, epochs=10):
    import tensorflow as tf
    from tensorflow import keras

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(seed)
    X, y = pad(data["X_train"], front=True), data["y_train"]
    n_classes = int(max(y.max(), data["y_test"].max())) + 1
    L = keras.layers
    start = time.perf_counter()
    layers = {
        1: [L.LSTM(64)],
        2: [L.LSTM(128, return_sequences=True), L.Dropout(0.2), L.LSTM(64), L.Dropout(0.2)],
        3: [L.Bidirectional(L.LSTM(64, return_sequences=True)), L.Bidirectional(L.LSTM(32))],
    }[example]
    model = keras.Sequential(
        [keras.Input((None, X.shape[2])), *layers, L.Dense(n_classes, activation="softmax")]
    )
    model.compile(
        optimizer="rmsprop" if example == 3 else "adam",
        loss="sparse_categorical_crossentropy", metrics=["accuracy"],
    )
    model.fit(X, y, epochs=epochs, batch_size=32, verbose=0,
              validation_split=0.2 if example == 3 else 0.0)
    seconds = time.perf_counter() - start

    def predict(X_test):
        return model.predict(pad(X_test, front=True), batch_size=256, verbose=0).argmax(axis=1)

    return predict, seconds


def fit_rocket(data, seed, threads):
    from sktime.classification.kernel_based import RocketClassifier

    # sktime's numpy3D layout is (n_cases, n_channels, n_timepoints).
    X = pad(data["X_train"]).transpose(0, 2, 1)
    y = data["y_train"]
    every = max(1, len(X) // 10)
    RocketClassifier(num_kernels=100, n_jobs=threads).fit(X[::every], y[::every])
    clf = RocketClassifier(random_state=seed, n_jobs=threads)
    start = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - start

    def predict(X_test):
        X_test = pad(X_test)
        width = max(X.shape[2], X_test.shape[1])
        X_test = np.pad(X_test, ((0, 0), (0, width - X_test.shape[1]), (0, 0)))
        return clf.predict(X_test.transpose(0, 2, 1))

    return predict, seconds


def worker(name, path, seed, threads, params=()):
    data = load_data(path)
    if name == "sklstm":
        predict, seconds = fit_sklstm(data, seed, threads, params)
    elif name == "rocket":
        predict, seconds = fit_rocket(data, seed, threads)
    else:
        predict, seconds = fit_keras(data, seed, threads, *KERAS[name])
    accuracy = float(np.mean(predict(data["X_test"]) == data["y_test"]))
    print(json.dumps({"accuracy": accuracy, "seconds": seconds}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--contenders", nargs="+", default=list(CONTENDERS),
                        choices=list(CONTENDERS))
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="threads of every contender")
    parser.add_argument("--resamples", type=int, default=1,
                        help="splits per data set: the official one, then stratified re-splits")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a parameter of sklstm's classifier, a Python literal (repeatable)")
    args = parser.parse_args(argv)
    from _timing import machine, print_markdown_table

    print(machine())
    described = ("official train/test splits" if args.resamples == 1 else
                 f"resamples 0-{args.resamples - 1} (0: the official split)")
    print(f"seeds 0-{args.seeds - 1}, {args.threads} threads, {described}, "
          "each fit in a fresh process"
          + (f"; sklstm with {', '.join(args.param)}" if args.param else ""))
    header = ["data set", "kind", "train/test"]
    for name in args.contenders:
        header += [f"{CONTENDERS[name][1]} accuracy", "fit s"]
    compare = "sklstm" in args.contenders and "rocket" in args.contenders
    if compare:
        header += ["sklstm - ROCKET accuracy", "sklstm / ROCKET time"]
    rows = []
    for dataset in args.datasets:
        splits = load(dataset, args.resamples)
        data = splits[0]
        results = {}
        for name in args.contenders:
            runs = [
                run_worker(Path(__file__), name, split, seed, args.threads,
                           peers=CONTENDERS[name][0], extra=args.param if name == "sklstm" else ())
                for split in splits for seed in range(args.seeds)
            ]
            results[name] = (np.mean([r["accuracy"] for r in runs]),
                             np.mean([r["seconds"] for r in runs]))
            print(f"{dataset} {name}: accuracy {results[name][0]:.3f}, "
                  f"fit {results[name][1]:.1f} s", flush=True)
        row = [dataset, DATASETS[dataset][1], f"{len(data['y_train'])}/{len(data['y_test'])}"]
        for name in args.contenders:
            row += [f"{results[name][0]:.3f}", f"{results[name][1]:.1f}"]
        if compare:
            row += [f"{results['sklstm'][0] - results['rocket'][0]:+.3f}",
                    f"{results['sklstm'][1] / results['rocket'][1]:.2f}"]
        rows.append(row)
    print_markdown_table(header, rows)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:])
    else:
        main()
