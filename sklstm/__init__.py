"""sklstm: an LSTM sequence classifier that behaves like any scikit-learn model."""

from . import datasets
from ._classifier import LSTMSequenceClassifier

__version__ = "0.1.0"

__all__ = ["LSTMSequenceClassifier", "datasets", "__version__"]
