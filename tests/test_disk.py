"""Arrays on disk (np.memmap, h5py, zarr) are read one batch at a time."""

import numpy as np
import pytest
from _isolated import run_isolated

from sklstm import LSTMSequenceClassifier, LSTMSequenceRegressor
from sklstm._data import Sequences
from sklstm._disk import DiskArray, shuffled_windows
from sklstm.datasets import make_sequence_classification

h5py = pytest.importorskip("h5py")
zarr = pytest.importorskip("zarr")


@pytest.fixture(scope="module")
def data():
    X, y = make_sequence_classification(n_samples=120, n_timesteps=14, n_features=3, random_state=0)
    return np.asarray(X, dtype=np.float32), y


def _store(kind, X, path):
    if kind == "memmap":
        array = np.lib.format.open_memmap(path / "x.npy", mode="w+", dtype=X.dtype, shape=X.shape)
        array[:] = X
        array.flush()
        return np.load(path / "x.npy", mmap_mode="r")
    if kind == "h5py":
        with h5py.File(path / "x.h5", "w") as f:
            f.create_dataset("X", data=X, chunks=(16, *X.shape[1:]))
        return h5py.File(path / "x.h5", "r")["X"]
    array = zarr.create_array(
        path / "x.zarr", shape=X.shape, chunks=(16, *X.shape[1:]), dtype=X.dtype
    )
    array[:] = X
    return array


@pytest.mark.parametrize("kind", ["memmap", "h5py", "zarr"])
def test_fit_and_predict_from_disk(kind, data, tmp_path):
    X, y = data
    on_disk = _store(kind, X, tmp_path)
    clf = LSTMSequenceClassifier(hidden_size=8, max_epochs=15, random_state=0).fit(on_disk, y)
    assert clf.n_features_in_ == 3
    assert clf.score(on_disk, y) > 0.9  # it learned
    # Predicting from disk or from memory is the same computation.
    np.testing.assert_array_equal(clf.predict_proba(on_disk), clf.predict_proba(X))


@pytest.mark.parametrize("kind", ["memmap", "h5py", "zarr"])
def test_channels_first_and_tables_on_disk(kind, data, tmp_path):
    X, y = data
    first = _store(kind, np.ascontiguousarray(X.transpose(0, 2, 1)), tmp_path)
    clf = LSTMSequenceClassifier(
        hidden_size=4, max_epochs=2, random_state=0, data_format="channels_first"
    ).fit(first, y)
    np.testing.assert_array_equal(clf.predict_proba(first), clf.predict_proba(X.transpose(0, 2, 1)))
    table_dir = tmp_path / "table"
    table_dir.mkdir()
    table = _store(kind, np.ascontiguousarray(X[:, :, 0]), table_dir)
    target = X[:, :, 0].mean(axis=1)
    reg = LSTMSequenceRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(table, target)
    assert reg.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(reg.predict(table), reg.predict(X[:, :, 0]))
    with pytest.raises(ValueError, match="2D array"):
        reg.predict(X)  # fitted on a table


def test_shuffled_windows_cover_every_sequence_once_and_mix_blocks(data, tmp_path):
    import torch

    X, _ = data
    on_disk = DiskArray(_store("zarr", X, tmp_path), np.float32)
    assert on_disk.block == 16
    dataset = Sequences(on_disk).subset(np.arange(5, 117))  # a training split
    gen = torch.Generator().manual_seed(0)
    epochs = [np.concatenate(shuffled_windows(dataset, 4, gen)) for _ in range(2)]
    for order in epochs:
        np.testing.assert_array_equal(np.sort(order), np.arange(len(dataset)))
    assert not np.array_equal(epochs[0], epochs[1])
    # A window holds whole blocks; within it the order is shuffled.
    windows = shuffled_windows(dataset, 4, gen)
    assert len(windows[0]) == 4 * 4
    assert not np.array_equal(windows[0], np.sort(windows[0]))
    assert len({int(i) // 16 for i in windows[0]}) <= 2


def test_bad_values_and_layouts_on_disk_are_refused(data, tmp_path):
    X, y = data
    bad = X.copy()
    bad[70, 3, 1] = np.nan
    on_disk = _store("memmap", bad, tmp_path)
    with pytest.raises(ValueError, match="NaN or infinite"):
        LSTMSequenceClassifier(max_epochs=1).fit(on_disk, y)
    with pytest.raises(ValueError, match="Ragged sequences on disk"):
        LSTMSequenceClassifier(max_epochs=1).fit([on_disk[0], on_disk[1][:5]], y[:2])
    with h5py.File(tmp_path / "s.h5", "w") as f:
        f.create_dataset("S", data=np.array([[b"a", b"b"]] * 4))
        f.create_dataset("D4", data=np.zeros((4, 2, 2, 2)))
        with pytest.raises(ValueError, match="must hold numbers"):
            LSTMSequenceClassifier(max_epochs=1).fit(f["S"], y[:4])
        with pytest.raises(ValueError, match="shape"):
            LSTMSequenceClassifier(max_epochs=1).fit(f["D4"], y[:4])
    clf = LSTMSequenceClassifier(hidden_size=4, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="expecting 3 features"):
        clf.predict(_store("memmap", X[:, :, :2].copy(), tmp_path))


def _anon_growth_of_a_fit_from_disk(path, n, steps, features):
    """Peak growth of anonymous memory (bytes) over an epoch and a prediction on disk."""
    import ctypes
    import threading

    # glibc keeps freed large blocks in the heap once its mmap threshold has
    # grown: fix the thresholds, so that RssAnon follows the live memory.
    libc = ctypes.CDLL("libc.so.6")
    libc.mallopt(-3, 2**17)  # M_MMAP_THRESHOLD
    libc.mallopt(-1, 2**17)  # M_TRIM_THRESHOLD

    def anon():
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("RssAnon"))

    y = np.arange(n) % 2
    small = np.random.RandomState(0).randn(64, steps, features).astype(np.float32)
    clf = LSTMSequenceClassifier(hidden_size=8, conv_channels=(8,), batch_size=16, max_epochs=1)
    clf.fit(small, y[:64])  # torch's one-time allocations, before measuring
    clf.predict(small)
    X = np.load(path, mmap_mode="r")
    before, peak, done = anon(), [0], threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], anon())
            done.wait(0.002)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        clf.fit(X, y)
        clf.predict(X)
    finally:
        done.set()
        watcher.join()
    loaded = np.array(X)  # the control: the data in memory
    return peak[0] - before, anon() - before + 0 * loaded.size


def test_memory_grows_by_batches_not_by_the_data(tmp_path):
    n, steps, features = 4096, 256, 16  # 64 MiB of float32
    path = tmp_path / "big.npy"
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, steps, features))
    for start in range(0, n, 512):
        X[start : start + 512] = np.random.RandomState(start).randn(512, steps, features)
    X.flush()
    del X
    size = n * steps * features * 4
    error, (growth, control) = run_isolated(
        _anon_growth_of_a_fit_from_disk, str(path), n, steps, features,
        memory_limit=2**32, timeout=300,
    )
    assert error is None, growth
    assert control > 0.9 * size  # the measure sees data that is loaded
    # A window of 64 sequences (1 MiB), a batch and its activations: about
    # 7 MiB measured; all 64 MiB would be read by a fit that loads the data.
    assert growth < size / 6, f"grew by {growth / 2**20:.1f} MiB for {size / 2**20:.0f} MiB"
