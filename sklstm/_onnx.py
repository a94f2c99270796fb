"""ONNX export of a fitted classifier's probabilities or a regressor's predictions."""

import copy
import warnings

import torch
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted


class _Probabilities(torch.nn.Module):
    """The fitted network with its softmax: inputs to class probabilities."""

    def __init__(self, module, layout):
        super().__init__()
        self.module = module
        self.layout = layout

    def outputs(self, x):
        if self.layout == "table":  # (batch, n_timesteps): one feature per step
            x = x.unsqueeze(2)
        elif self.layout == "channels_first":  # (batch, n_features, n_timesteps)
            x = x.transpose(1, 2)
        return self.module(x)

    def forward(self, x):
        return torch.softmax(self.outputs(x), dim=1)


class _Predictions(_Probabilities):
    """The fitted network with the targets' scale: inputs to predictions."""

    def __init__(self, module, layout, mean, scale, flat):
        super().__init__(module, layout)
        self.register_buffer("mean", mean)
        self.register_buffer("scale", scale)
        self.flat = flat

    def forward(self, x):
        y = self.outputs(x) * self.scale + self.mean
        return y[:, 0] if self.flat else y


def export_onnx(estimator, path, *, opset_version=17):
    """Export a fitted ``LSTMSequenceClassifier`` or ``LSTMSequenceRegressor`` to ONNX.

    The ONNX model maps equal-length sequences to class probabilities, as
    ``predict_proba`` does, or to a regressor's predictions. Its input
    ``"x"`` has shape ``(batch, n_timesteps, n_features)`` (``(batch,
    n_features, n_timesteps)`` with ``data_format="channels_first"``), or
    ``(batch, n_timesteps)`` when the estimator was fitted on a 2D table, in the
    estimator's ``dtype``; the batch size and the number of steps can vary.
    A classifier's output ``"proba"`` has shape ``(batch, n_classes)``,
    columns in the order of ``classes_``; a regressor's output
    ``"prediction"`` has the shape of ``predict``'s. Variable-length
    sequences are not covered: pad and mask them yourself, or export one
    model per length. ONNX Runtime runs LSTMs in float32 only, so a
    ``dtype="float64"`` estimator exports but does not run there.

    Requires the ``onnx`` package (``pip install sklstm[onnx]``).

    Parameters
    ----------
    estimator : LSTMSequenceClassifier or LSTMSequenceRegressor
        A fitted estimator.
    path : str or path-like
        Where to write the ``.onnx`` file.
    opset_version : int, default=17
        The ONNX operator set to target.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import onnxruntime
    >>> from sklstm import LSTMSequenceClassifier, export_onnx
    >>> X = np.random.default_rng(0).normal(size=(20, 5, 2)).astype(np.float32)
    >>> clf = LSTMSequenceClassifier(8, max_epochs=2).fit(X, [0, 1] * 10)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.onnx")
    >>> export_onnx(clf, path)
    >>> session = onnxruntime.InferenceSession(path)
    >>> session.run(["proba"], {"x": X})[0].shape
    (20, 2)
    """
    from ._base import BaseLSTMSequence

    if not isinstance(estimator, BaseLSTMSequence):
        raise TypeError(
            "export_onnx exports a fitted LSTMSequenceClassifier or "
            "LSTMSequenceRegressor, got "
            f"{type(estimator).__name__}. For a Pipeline, export its last step and "
            "apply the earlier steps before calling the ONNX model."
        )
    check_is_fitted(estimator)
    layout = "table" if estimator._layout == "table" else estimator.data_format
    module = copy.deepcopy(estimator.net_.module_).cpu().eval()
    module.autocast = None  # the graph computes in the weights' dtype
    dtype = getattr(torch, estimator._dtype.name)
    if is_classifier(estimator):
        model, output = _Probabilities(module, layout), "proba"
    else:
        mean, scale = (
            torch.as_tensor(v, dtype=dtype) for v in (estimator._y_center, estimator._y_scale)
        )
        model = _Predictions(module, layout, mean, scale, estimator._y_1d)
        output = "prediction"
    # At least one window of the LSTM's stride, so that the traced graph
    # pads sequences shorter than it instead of taking their length as one.
    steps = max(3, estimator.lstm_stride)
    n_features = estimator._n_step_features()
    shape = {
        "table": (2, steps), "channels_last": (2, steps, n_features),
        "channels_first": (2, n_features, steps),
    }[layout]
    axes = {0: "batch", 2 if layout == "channels_first" else 1: "steps"}
    with warnings.catch_warnings():
        # The TorchScript-based exporter is deprecated in favour of the
        # torch.export one, which cannot yet keep the number of steps
        # dynamic through stacked LSTMs; its warnings are not the user's.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        # The initial states are zeros of the input's batch size, so the
        # warning about LSTMs exported with another batch size is moot.
        warnings.filterwarnings("ignore", "Exporting a model to ONNX with a batch_size")
        # An optimisation the exporter skips (for a slice in the graph).
        warnings.filterwarnings("ignore", "Constant folding - Only steps=1")
        torch.onnx.export(
            model,
            (torch.zeros(shape, dtype=dtype),),
            str(path),
            dynamo=False,
            input_names=["x"],
            output_names=[output],
            dynamic_axes={"x": axes, output: {0: "batch"}},
            opset_version=opset_version,
        )
