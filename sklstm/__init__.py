"""sklstm: LSTM sequence models that behave like any scikit-learn estimator."""

from . import datasets, inspection, plotting
from ._classifier import LSTMSequenceClassifier
from ._distributed import DistributedFitError, parallel_fit
from ._frames import sequences_from_long
from ._net import TrainingDivergedError
from ._onnx import export_onnx
from ._persist import load, save, skops_trusted_types
from ._regressor import LSTMSequenceRegressor
from ._scaler import SequenceScaler
from ._windows import SlidingWindowTransformer, make_windows

__version__ = "0.1.0"

__all__ = [
    "DistributedFitError",
    "LSTMSequenceClassifier",
    "LSTMSequenceRegressor",
    "SequenceScaler",
    "SlidingWindowTransformer",
    "TrainingDivergedError",
    "datasets",
    "export_onnx",
    "inspection",
    "load",
    "make_windows",
    "parallel_fit",
    "plotting",
    "save",
    "sequences_from_long",
    "skops_trusted_types",
    "__version__",
]
