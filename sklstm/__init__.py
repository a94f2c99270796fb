"""sklstm: an LSTM sequence classifier that behaves like any scikit-learn model."""

from . import datasets, plotting
from ._classifier import LSTMSequenceClassifier
from ._frames import sequences_from_long
from ._net import TrainingDivergedError
from ._onnx import export_onnx
from ._persist import load, save
from ._scaler import SequenceScaler
from ._windows import SlidingWindowTransformer, make_windows

__version__ = "0.1.0"

__all__ = [
    "LSTMSequenceClassifier",
    "SequenceScaler",
    "SlidingWindowTransformer",
    "TrainingDivergedError",
    "datasets",
    "export_onnx",
    "load",
    "make_windows",
    "plotting",
    "save",
    "sequences_from_long",
    "__version__",
]
