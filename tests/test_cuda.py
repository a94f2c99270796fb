"""The CUDA path: run only where torch finds a GPU (``make gpu-check``).

Elsewhere every test here is skipped, with the reason.
"""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import sklstm
from sklstm import LSTMSequenceClassifier, LSTMSequenceRegressor
from sklstm._base import _has_fused_kernel
from sklstm.datasets import make_sequence_classification

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"),
]


@pytest.fixture(scope="module")
def ragged():
    return make_sequence_classification(
        n_samples=64, n_timesteps=30, min_timesteps=5, n_features=3, n_classes=3, random_state=0
    )


def _on_cpu(est):
    """The same fitted weights on the CPU (a pickle of a CUDA model loads there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "trained on CUDA, loaded on the CPU"
        return pickle.loads(pickle.dumps(est))


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("conv_channels", [None, (8, 16, 8)])
def test_cuda_and_cpu_predictions_are_equal_in_float64(ragged, bidirectional, conv_channels):
    X, y = ragged
    clf = LSTMSequenceClassifier(
        8, bidirectional=bidirectional, conv_channels=conv_channels, dtype="float64",
        device="cuda", max_epochs=5, random_state=0,
    ).fit(X, y)
    assert clf.net_.device == "cuda"
    assert next(clf.net_.module_.parameters()).is_cuda
    cpu = _on_cpu(clf)
    assert cpu.net_.device == "cpu"
    np.testing.assert_allclose(clf.predict_proba(X), cpu.predict_proba(X), rtol=1e-9, atol=1e-12)
    # Padding-exact on CUDA: a sequence alone or in a padded batch.
    alone = np.vstack([clf.predict_proba([x]) for x in X[:8]])
    np.testing.assert_allclose(alone, clf.predict_proba(X[:8]), rtol=1e-9, atol=1e-12)


def test_cuda_training_follows_the_cpu_in_float64(ragged):
    X, y = ragged
    params = dict(hidden_size=8, dtype="float64", max_epochs=3, random_state=0)
    gpu = LSTMSequenceClassifier(**params, device="cuda").fit(X, y)
    cpu = LSTMSequenceClassifier(**params, device="cpu").fit(X, y)
    np.testing.assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), rtol=1e-6, atol=1e-8)


def test_fused_optimizers_on_cuda(ragged):
    X, y = ragged
    for optimizer in ("adam", "adamw", "sgd"):
        clf = LSTMSequenceClassifier(8, optimizer=optimizer, device="cuda", max_epochs=2).fit(X, y)
        fused = clf.net_.optimizer_.defaults.get("fused")
        assert fused == _has_fused_kernel(type(clf.net_.optimizer_), "cuda")
        assert np.isfinite(clf.predict_proba(X)).all()


def test_save_on_cuda_load_on_cpu(ragged, tmp_path):
    X, y = ragged
    reg = LSTMSequenceRegressor(8, device="cuda", max_epochs=2, random_state=0)
    reg.fit(X, np.arange(len(y), dtype=float))
    sklstm.save(reg, tmp_path / "m.sklstm")
    loaded = sklstm.load(tmp_path / "m.sklstm", device="cpu")
    assert loaded.net_.device == "cpu"
    np.testing.assert_allclose(loaded.predict(X), reg.predict(X), rtol=1e-5, atol=1e-6)
    again = sklstm.load(tmp_path / "m.sklstm", device="cuda")
    np.testing.assert_allclose(again.predict(X), reg.predict(X), rtol=1e-6, atol=1e-7)


def test_autocast_bfloat16_on_cuda(ragged):
    X, y = ragged
    clf = LSTMSequenceClassifier(8, autocast="bfloat16", device="cuda", max_epochs=2).fit(X, y)
    assert np.isfinite(clf.predict_proba(X)).all()


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="DDP with nccl needs two GPUs")
def test_data_parallel_fit_with_nccl_on_two_gpus(tmp_path):
    script = tmp_path / "ddp.py"
    script.write_text(
        "import os, pickle, torch, numpy as np\n"
        "import sklstm\n"
        "from sklstm.datasets import make_sequence_classification\n"
        "torch.cuda.set_device(int(os.environ['LOCAL_RANK']))\n"
        "X, y = make_sequence_classification(n_samples=64, random_state=0)\n"
        "clf = sklstm.LSTMSequenceClassifier(8, dtype='float64', device='cuda', max_epochs=3,\n"
        "                                    random_state=0).fit(X, y)\n"
        "p = clf.predict_proba(X)\n"
        f"np.save(os.path.join({str(tmp_path)!r}, 'p' + os.environ['RANK'] + '.npy'), p)\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
         str(script)], capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    p0, p1 = np.load(tmp_path / "p0.npy"), np.load(tmp_path / "p1.npy")
    np.testing.assert_array_equal(p0, p1)
    X, y = make_sequence_classification(n_samples=64, random_state=0)
    single = LSTMSequenceClassifier(
        8, dtype="float64", device="cuda", max_epochs=3, random_state=0
    ).fit(X, y)
    np.testing.assert_allclose(p0, single.predict_proba(X), rtol=1e-6, atol=1e-8)
