"""ONNX export, checked with onnxruntime (installed with the test extra)."""

import itertools

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from sklearn.pipeline import make_pipeline

from sklstm import LSTMSequenceClassifier, SequenceScaler, export_onnx

FAST = dict(max_epochs=2, random_state=0)


def run_onnx(path, X):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["proba"], {"x": X})[0]


@pytest.mark.parametrize(
    "bidirectional, hidden_size, pooling",
    list(itertools.product([True, False], [6, (6, 4)], ["last", "mean", "max", "mean_max"])),
)
def test_onnx_probabilities_match_predict_proba(seq3d, tmp_path, bidirectional, hidden_size, pooling):
    X, y = seq3d
    X = X.astype(np.float32)
    labels = np.array(["x", "y"])[y]
    clf = LSTMSequenceClassifier(
        hidden_size, bidirectional=bidirectional, pooling=pooling, **FAST
    ).fit(X, labels)
    path = tmp_path / "model.onnx"
    export_onnx(clf, path)
    onnx.checker.check_model(str(path))
    # Other batch sizes and lengths than the data it was fitted on.
    for X_new in (X, X[:1], np.random.default_rng(1).normal(size=(5, 31, 2)).astype(np.float32)):
        np.testing.assert_allclose(run_onnx(path, X_new), clf.predict_proba(X_new), rtol=0, atol=1e-5)


@pytest.mark.parametrize(
    "normalize, lstm_stride", [(None, 1), ("per_sequence", 1), ("both", 1), (None, 5)]
)
def test_onnx_with_the_convolutional_block(seq3d, tmp_path, normalize, lstm_stride):
    X, y = seq3d
    X = X.astype(np.float32)
    clf = LSTMSequenceClassifier(
        6, conv_channels=(8, 4, 3), normalize=normalize, lstm_stride=lstm_stride, **FAST
    )
    clf.fit(X, y)
    path = tmp_path / "model.onnx"
    export_onnx(clf, path)
    rng = np.random.default_rng(1)
    # 31 steps: a partial window of the stride; 2: shorter than one window.
    others = [rng.normal(size=(5, steps, 2)).astype(np.float32) for steps in (31, 2)]
    for X_new in (X, X[:1], *others):
        np.testing.assert_allclose(run_onnx(path, X_new), clf.predict_proba(X_new), rtol=0, atol=1e-5)


def test_onnx_of_a_bfloat16_autocast_model_is_its_float32_graph(seq3d, tmp_path):
    X, y = seq3d
    X = X.astype(np.float32)
    clf = LSTMSequenceClassifier(6, conv_channels=(8, 4), autocast="bfloat16", **FAST).fit(X, y)
    export_onnx(clf, tmp_path / "mixed.onnx")
    assert clf.net_.module_.autocast is torch.bfloat16  # the export changed a copy
    mixed = clf.predict_proba(X)
    clf.net_.module_.autocast = None
    np.testing.assert_allclose(run_onnx(tmp_path / "mixed.onnx", X), clf.predict_proba(X), rtol=0, atol=1e-5)
    np.testing.assert_allclose(run_onnx(tmp_path / "mixed.onnx", X), mixed, rtol=0, atol=5e-3)


def test_onnx_of_a_classifier_fitted_on_a_table(seq3d, tmp_path):
    X, y = seq3d
    table = X[:, :, 0].astype(np.float32)
    clf = LSTMSequenceClassifier(6, **FAST).fit(table, y)
    export_onnx(clf, tmp_path / "table.onnx")
    np.testing.assert_allclose(run_onnx(tmp_path / "table.onnx", table), clf.predict_proba(table), atol=1e-5)


def test_export_refuses_unfitted_models_and_pipelines(seq3d, tmp_path):
    X, y = seq3d
    with pytest.raises(Exception, match="not fitted"):
        export_onnx(LSTMSequenceClassifier(), tmp_path / "m.onnx")
    pipe = make_pipeline(SequenceScaler(), LSTMSequenceClassifier(4, **FAST)).fit(X, y)
    with pytest.raises(TypeError, match="export its last step"):
        export_onnx(pipe, tmp_path / "m.onnx")
