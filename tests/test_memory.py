"""Memory: training on windows of a long series never copies the windows.

Measured in a fresh process by benchmarks/window_memory.py, where the peak
resident memory during fit and predict is the process's own.
"""

import importlib.util
from pathlib import Path

BENCHMARK = Path(__file__).parents[1] / "benchmarks" / "window_memory.py"


def _benchmark():
    spec = importlib.util.spec_from_file_location("window_memory", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fit_and_predict_on_windows_grow_memory_far_less_than_the_windows():
    # 100,000 rows x 4 float32 features, window_size=128: the windows would
    # take 195 MiB as an array. Pipeline: windows -> SequenceScaler -> LSTM,
    # one epoch and predict_proba, in a fresh process (see run_fresh for the
    # allocator setting that makes the peak the same from run to run).
    result = _benchmark().run_fresh(100_000, 128)
    assert result["windows_mb"] > 190
    # The ruler works: materializing the windows once shows up in full.
    assert result["ruler_growth_mb"] > 0.9 * result["windows_mb"]
    # What grows is one training batch with its autograd state (the series
    # is 1.5 MiB); copying the windows into an array first would take more
    # than the windows themselves.
    assert result["growth_mb"] < 0.2 * result["windows_mb"], result
