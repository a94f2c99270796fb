"""Saving and loading models as data: nothing in a model file can run code.

``pickle`` (and ``torch.load`` without ``weights_only=True``) rebuilds
objects by calling whatever the file names, so loading a file from someone
else can run any code. A file written by ``save`` is a safetensors file: a
JSON header followed by raw array bytes. The arrays (weights, optimizer
state, numeric fitted attributes) are stored as safetensors tensors, and
everything else (parameters, labels, history, other fitted attributes) as
tagged JSON in the header's metadata. Loading parses these two formats and
builds estimators only of classes from the ``sklstm`` and ``sklearn``
packages, with ``__init__`` given the saved parameters.
"""

import importlib
import json
import re
import warnings

import numpy as np
import sklearn
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file
from sklearn.base import BaseEstimator
from skorch.history import History

FORMAT = "sklstm"
FORMAT_VERSION = 1
_TAG = "~"  # the key that marks an encoded (non-JSON) value
_PACKAGES = ("sklstm", "sklearn")  # estimator classes a file may name
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def save(estimator, path):
    """Save a fitted or unfitted estimator to ``path`` without pickle.

    The file holds parameters and fitted attributes as data (JSON) and
    arrays as safetensors tensors, plus the versions of sklstm, scikit-learn
    and torch that wrote it. ``load`` reads it back without running any code
    from the file, which makes it the safe way to share models: unpickling a
    file from an untrusted source can run arbitrary code.

    Parameters
    ----------
    estimator : estimator
        An sklstm estimator, a scikit-learn estimator whose parameters and
        fitted attributes are plain data (numbers, strings, arrays), or a
        ``Pipeline`` of such estimators.
    path : str or path-like
        Where to write the file (conventionally ending in ``.safetensors``).

    Raises
    ------
    TypeError
        If a parameter or fitted attribute cannot be stored as data, such as
        callbacks or a ``RandomState`` instance; the message says which one.

    See Also
    --------
    load : Read an estimator written by ``save``.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> import sklstm
    >>> X = np.random.default_rng(0).normal(size=(20, 5, 2))
    >>> y = np.array([0, 1] * 10)
    >>> clf = sklstm.LSTMSequenceClassifier(8, max_epochs=2, random_state=0).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
    >>> sklstm.save(clf, path)
    >>> loaded = sklstm.load(path)
    >>> bool(np.array_equal(loaded.predict_proba(X), clf.predict_proba(X)))
    True
    """
    writer = _Writer()
    tree = writer.encode(estimator, type(estimator).__name__)
    from . import __version__

    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sklstm_version": __version__,
        "sklearn_version": sklearn.__version__,
        "torch_version": torch.__version__,
        "estimator": tree,
    }
    save_file(writer.arrays, str(path), metadata={FORMAT: json.dumps(header)})


def load(path, *, device=None):
    """Load an estimator written by ``save``; no code from the file runs.

    Parameters
    ----------
    path : str or path-like
        A file written by ``sklstm.save``.
    device : {"cpu", "cuda"} or None, default=None
        Where to put the networks' weights. None keeps the device they were
        trained on, or uses the CPU (with a warning) when that was CUDA and
        no CUDA device is present here. The estimators' ``device``
        parameter keeps its saved value either way.

    Returns
    -------
    estimator : estimator
        The estimator with the same parameters, fitted attributes and
        predictions as the one saved.

    Raises
    ------
    ValueError
        If the file is not an sklstm model file (for instance a pickle or a
        ``torch.save`` file, which are refused without being unpickled), is
        damaged, or was written in a newer format than this sklstm reads.

    See Also
    --------
    save : Write an estimator as data.

    Examples
    --------
    >>> import os, tempfile
    >>> import sklstm
    >>> path = os.path.join(tempfile.mkdtemp(), "scaler.safetensors")
    >>> sklstm.save(sklstm.SequenceScaler().fit([[[1.0], [3.0]]]), path)
    >>> sklstm.load(path).mean_
    array([2.])
    """
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
            arrays = {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, UnicodeDecodeError) as exc:
        raise ValueError(
            f"{path} is not an sklstm model file ({exc}). sklstm.load reads only "
            "files written by sklstm.save; it never unpickles pickle or torch "
            "files. Load a pickle only if you trust its source, with pickle.load."
        ) from None
    try:
        header = json.loads(metadata[FORMAT])
        if header["format"] != FORMAT:
            raise KeyError("format")
        version = int(header["format_version"])
    except (KeyError, TypeError, ValueError, json.JSONDecodeError):
        raise ValueError(
            f"{path} is a safetensors file but not one written by sklstm.save "
            "(its header has no valid sklstm metadata)."
        ) from None
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by sklstm {header.get('sklstm_version')} in model "
            f"format {version}; this sklstm reads format {FORMAT_VERSION} and older. "
            "Upgrade sklstm to load it."
        )
    if header.get("sklearn_version") != sklearn.__version__:
        warnings.warn(
            f"{path} was saved with scikit-learn {header.get('sklearn_version')} and "
            f"is loaded with {sklearn.__version__}; scikit-learn estimators in it "
            "may behave differently.",
            UserWarning,
        )
    try:
        return _Reader(arrays, device).decode(header["estimator"])
    except (KeyError, IndexError, TypeError, AttributeError, RuntimeError, ImportError) as exc:
        raise ValueError(f"{path} is a damaged sklstm model file: {exc!r}") from None


class _Writer:
    """Turns values into JSON, with arrays set aside for safetensors."""

    def __init__(self):
        self.arrays = {}

    def _store(self, array):
        key = f"a{len(self.arrays)}"
        self.arrays[key] = np.require(array, requirements="C")  # keeps 0-d arrays 0-d
        return key

    def encode(self, value, where):
        if value is None or isinstance(value, str) or type(value) in (bool, int, float):
            return value
        if isinstance(value, np.generic):
            array = self.encode(np.asarray(value), where)
            return {_TAG: "scalar", "array": array}
        if isinstance(value, np.ndarray):
            return self._array(value, where)
        if isinstance(value, torch.Tensor):
            array = value.detach().cpu().numpy()
            return {_TAG: "tensor", "key": self._store(array)}
        if isinstance(value, np.dtype):
            return {_TAG: "dtype", "name": value.str}
        if isinstance(value, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            items = [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
            return {_TAG: "tuple", "items": items}
        if isinstance(value, dict):
            items = [
                [self.encode(k, where), self.encode(v, f"{where}[{k!r}]")]
                for k, v in value.items()
            ]
            return {_TAG: "dict", "items": items}
        if isinstance(value, type) and issubclass(value, torch.optim.Optimizer):
            if getattr(torch.optim, value.__name__, None) is not value:
                _refuse(value, where, "only optimizers of torch.optim can be saved")
            return {_TAG: "optimizer", "name": value.__name__}
        if isinstance(value, BaseEstimator):
            return self._estimator(value, where)
        _refuse(value, where)

    def _array(self, array, where):
        if array.dtype.kind in "biuf" and array.dtype.byteorder in "=|<":
            return {_TAG: "array", "key": self._store(array)}
        if array.dtype.kind == "U" or (
            array.dtype == object and all(isinstance(v, str) for v in array.flat)
        ):
            return {
                _TAG: "strings", "dtype": array.dtype.str, "shape": list(array.shape),
                "values": [str(v) for v in array.flat],
            }
        _refuse(array, where, f"arrays of dtype {array.dtype} cannot be saved")

    def _estimator(self, estimator, where):
        cls = type(estimator)
        if cls.__module__.split(".")[0] not in _PACKAGES:
            _refuse(estimator, where, "only sklstm and scikit-learn estimators can be saved")
        params = estimator.get_params(deep=False)
        state = {k: v for k, v in vars(estimator).items() if k not in params}
        tree = {
            _TAG: "estimator",
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "params": {k: self.encode(v, f"{where}.{k}") for k, v in params.items()},
        }
        net = state.pop("net_", None)
        if net is not None:
            state.pop("history_", None)  # the net's history, saved with it
            tree["net"] = {
                "device": str(net.device),
                "module": self.encode(net.module_.state_dict(), f"{where}.net_"),
                "optimizer": self.encode(net.optimizer_.state_dict(), f"{where}.net_"),
                "history": self.encode(list(net.history), f"{where}.history_"),
            }
        tree["state"] = {k: self.encode(v, f"{where}.{k}") for k, v in state.items()}
        return tree


def _refuse(value, where, why=None):
    why = why or f"a {type(value).__name__} is not plain data"
    raise TypeError(
        f"Cannot save {where}: {why}. sklstm.save stores only data that loads "
        "without running code. Set such parameters to None or a plain value "
        "before saving (a fitted model does not need callbacks to predict), or "
        "use pickle for files you will only load from trusted sources."
    )


class _Reader:
    """Turns the JSON of ``_Writer`` back into values."""

    def __init__(self, arrays, device):
        self.arrays = arrays
        self.device = device

    def decode(self, value):
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        tag = value[_TAG]
        if tag == "tuple":
            return tuple(self.decode(v) for v in value["items"])
        if tag == "dict":
            return {self.decode(k): self.decode(v) for k, v in value["items"]}
        if tag == "array":
            return self.arrays[value["key"]].copy()
        if tag == "scalar":
            return self.decode(value["array"])[()]
        if tag == "tensor":
            return torch.from_numpy(self.arrays[value["key"]].copy())
        if tag == "strings":
            values = np.array(value["values"], dtype=np.dtype(value["dtype"]))
            return values.reshape(value["shape"])
        if tag == "dtype":
            return np.dtype(value["name"])
        if tag == "optimizer":
            optimizer = getattr(torch.optim, value["name"])
            if not (isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)):
                raise TypeError(f"{value['name']} is not an optimizer of torch.optim")
            return optimizer
        if tag == "estimator":
            return self._estimator(value)
        raise TypeError(f"unknown value tag {tag!r}")

    def _estimator(self, tree):
        module_name, _, name = tree["class"].rpartition(".")
        if module_name.split(".")[0] not in _PACKAGES or not _NAME.match(name):
            raise TypeError(f"class {tree['class']} is not from sklstm or scikit-learn")
        cls = getattr(importlib.import_module(module_name), name)
        if not (isinstance(cls, type) and issubclass(cls, BaseEstimator)):
            raise TypeError(f"{tree['class']} is not an estimator class")
        estimator = cls(**{k: self.decode(v) for k, v in tree["params"].items()})
        for key, value in tree["state"].items():
            if not _NAME.match(key) or key.startswith("__"):
                raise TypeError(f"invalid attribute name {key!r}")
            setattr(estimator, key, self.decode(value))
        if "net" in tree:
            net = tree["net"]
            estimator._restore_net(
                module_state=self.decode(net["module"]),
                optimizer_state=self.decode(net["optimizer"]),
                history=History(self.decode(net["history"])),
                device=self._device(net["device"]),
            )
        return estimator

    def _device(self, saved):
        if self.device is not None:
            return self.device
        if saved.startswith("cuda") and not torch.cuda.is_available():
            warnings.warn(
                "This model was trained on CUDA, and no CUDA device is present: "
                "its weights are loaded on the CPU.",
                UserWarning,
            )
            return "cpu"
        return saved
