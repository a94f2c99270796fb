"""Shared helpers of the speed benchmarks: options, interleaved timing, tables."""

import argparse
import ast
import statistics
import time

import numpy as np
import torch


def parse_args(doc, argv, extra=(), **sizes):
    """Read a benchmark's options, set torch's threads, print the machine.

    ``sizes`` are integer options with their defaults (``batch_size`` gives
    ``--batch-size``); ``--threads`` is always there; ``extra`` holds more
    ``(flags, keywords)`` for ``add_argument``.
    """
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    for name, default in sizes.items():
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=default)
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    for flags, keywords in extra:
        parser.add_argument(*flags, **keywords)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(machine())
    return args


def literal_params(items):
    """``{"name": value}`` from ``"name=value"`` strings; values are Python literals or text."""
    params = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def interleaved(contenders, repeats, warmup=1, number=1):
    """Time each contender ``repeats`` times, taking turns.

    ``contenders`` maps names to callables without arguments. Each round
    runs every contender ``number`` times in a row, in turn, alternating the
    order from round to round, so that a slow phase of a shared machine
    hits all of them alike; ``warmup`` untimed rounds come first (they pay
    for one-off initialisation of the math libraries). Returns
    ``{name: [seconds per call, one per round]}``.
    """
    names = list(contenders)
    times = {name: [] for name in names}
    for round_ in range(warmup + repeats):
        for name in names if round_ % 2 == 0 else names[::-1]:
            run = contenders[name]
            start = time.perf_counter()
            for _ in range(number):
                run()
            if round_ >= warmup:
                times[name].append((time.perf_counter() - start) / number)
    return times


def median(times):
    return statistics.median(times)


def paired_ratio(times, baseline):
    """Median over rounds of a contender's time over the baseline's time.

    Pairing each round's two times cancels most of the slow drifts of a
    shared machine, which a ratio of two medians keeps.
    """
    return statistics.median(t / b for t, b in zip(times, baseline))


def ratio_interval(times, baseline, level=0.95, seed=0):
    """Bootstrap interval of ``paired_ratio``: how far noise can move it."""
    ratios = np.asarray(times) / np.asarray(baseline)
    rng = np.random.default_rng(seed)
    resampled = rng.choice(ratios, size=(2000, len(ratios)))
    medians = np.median(resampled, axis=1)
    tail = (1 - level) / 2
    return tuple(np.quantile(medians, [tail, 1 - tail]))


def ratio_text(times, baseline):
    """``"1.004 (0.991-1.012)"``: paired ratio and its 95% interval."""
    low, high = ratio_interval(times, baseline)
    return f"{paired_ratio(times, baseline):.3f} ({low:.3f}-{high:.3f})"


def print_table(header, rows):
    """Print rows of strings or numbers as an aligned text table."""
    rows = [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths)))


def print_markdown_table(header, rows):
    """Print rows of strings as a Markdown table (for the docs), after a blank line."""
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def machine():
    """One line naming the CPU, threads and library versions."""
    import platform

    import skorch

    import sklstm

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    # Two VMs of one name can differ in what decides sklstm's speed: the
    # vector instructions torch uses, and bfloat16 in hardware.
    from sklstm._cpu import native_bfloat16

    bf16 = "native bfloat16" if native_bfloat16() else "no native bfloat16"
    cpu += f" ({torch.backends.cpu.get_cpu_capability()}, {bf16})"
    return (
        f"{cpu}; torch {torch.__version__} with {torch.get_num_threads()} thread(s); "
        f"skorch {skorch.__version__}; sklstm {sklstm.__version__}; numpy {np.__version__}"
    )


# What makes the classifier train what a plain loop trains: the inputs as
# given (no normalize="auto"), every step back-propagated, float32 on any
# CPU, every epoch asked for (no convergence test).
PLAIN = {"normalize": None, "bptt_window": None, "autocast": None, "tol": None}


def sequence_data(n_samples, n_timesteps, n_features, n_classes=2, seed=0):
    """Equal-length float32 sequences whose class shifts their mean."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n_samples)
    X = rng.standard_normal((n_samples, n_timesteps, n_features)).astype(np.float32)
    X += 0.5 * y[:, None, None].astype(np.float32)
    return X, y
