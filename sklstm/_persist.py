"""Saving and loading models as data: nothing in a model file can steer ``load``.

``pickle`` (and ``torch.load`` without ``weights_only=True``) rebuilds
objects by calling whatever the file names, so loading a file from someone
else can run any code. A file written by ``save`` is a safetensors file: an
8-byte length, a JSON header, then raw array bytes. The arrays (weights,
optimizer state, numeric fitted attributes) are safetensors tensors;
everything else (parameters, labels, history, other fitted attributes) is
tagged JSON in the header's metadata.

``load`` treats the file as hostile. It reads the file into memory (a file
that changes underneath cannot crash it), parses the header itself and
checks every tensor's dtype, shape and byte range before reading it, reads
each tensor once, and decodes the JSON with a depth limit into plain values
only. Estimators come from the closed list of ``_schema`` (never from an
import that the file names); their parameters, fitted attributes, network
weights and optimizer state are checked there before any of them is used.
Every malformed file gives a ``ValueError`` that says what is wrong.
"""

import json
import math
import os
import re
import stat
import warnings

import numpy as np
import sklearn
import torch
from safetensors.numpy import save_file
from sklearn.base import BaseEstimator

from . import _schema
from ._schema import shown as _shown

FORMAT = "sklstm"
FORMAT_VERSION = 1
_TAG = "~"  # the key that marks an encoded (non-JSON) value

# Limits of what a file may hold; real models stay far below them.
MAX_DEPTH = 64  # nesting of JSON values
MAX_ITEMS = 10_000_000  # entries of one JSON list or dict
MAX_NDIM = 32  # dimensions of one array (numpy's own limit is 64)

# safetensors dtypes that load reads (F8 and BF16 have no numpy type).
_DTYPES = {
    "BOOL": "|b1", "U8": "|u1", "I8": "|i1", "U16": "<u2", "I16": "<i2",
    "U32": "<u4", "I32": "<i4", "U64": "<u8", "I64": "<i8",
    "F16": "<f2", "F32": "<f4", "F64": "<f8",
}
# Dtypes a "dtype" value may name (the networks' float types).
_DTYPE_NAMES = {"<f2", "<f4", "<f8"}
_DEVICE = re.compile(r"cpu|cuda(:[0-9]{1,3})?")
_HEADER_KEYS = {"format", "format_version", "sklstm_version", "sklearn_version", "torch_version"}


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
        An sklstm estimator or transformer, one of the scikit-learn
        estimators ``load`` supports (``Pipeline``, ``StandardScaler``,
        ``MinMaxScaler``, ``MaxAbsScaler``, ``RobustScaler``), or a
        ``Pipeline`` of them.
    path : str or path-like
        Where to write the file (conventionally ending in ``.safetensors``).

    Raises
    ------
    TypeError
        If the estimator is of another class, or a parameter or fitted
        attribute cannot be stored as data, such as callbacks or a
        ``RandomState`` instance; the message says which one.

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
    if not isinstance(estimator, BaseEstimator):
        _refuse(estimator, type(estimator).__name__, "only estimators can be saved")
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


def skops_trusted_types():
    """Return the names of the types a skops or mlflow user must trust to load sklstm models.

    Pickling an sklstm estimator stores plain data only: parameters,
    fitted attributes as numbers, strings and numpy arrays, and the network
    as arrays of weights and optimizer buffers (rebuilt and checked against
    the parameters when unpickled). So the only types beyond what skops
    trusts by default (numpy arrays, containers, scikit-learn's classes)
    are sklstm's public classes, whose names this returns, e.g. for
    ``skops.io.load(file, trusted=...)`` or
    ``mlflow.sklearn.log_model(..., skops_trusted_types=...)``. User-given
    callbacks or optimizer classes stay what they are and must be trusted
    as well. Unlike ``sklstm.load``, unpickling still runs whatever a
    hostile pickle names; ``skops`` refuses untrusted types.

    Returns
    -------
    names : list of str
        ``module.qualname`` of ``LSTMSequenceClassifier``,
        ``LSTMSequenceRegressor``, ``SequenceScaler`` and
        ``SlidingWindowTransformer``.

    Examples
    --------
    >>> import numpy as np
    >>> import skops.io
    >>> from sklstm import LSTMSequenceClassifier, skops_trusted_types
    >>> X = np.random.default_rng(0).normal(size=(20, 5, 2))
    >>> clf = LSTMSequenceClassifier(hidden_size=4, max_epochs=2).fit(X, [0, 1] * 10)
    >>> data = skops.io.dumps(clf)
    >>> skops.io.get_untrusted_types(data=data)
    ['sklstm._classifier.LSTMSequenceClassifier']
    >>> loaded = skops.io.loads(data, trusted=skops_trusted_types())
    >>> bool((loaded.predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    from ._classifier import LSTMSequenceClassifier
    from ._regressor import LSTMSequenceRegressor
    from ._scaler import SequenceScaler
    from ._windows import SlidingWindowTransformer

    classes = (
        LSTMSequenceClassifier, LSTMSequenceRegressor, SequenceScaler, SlidingWindowTransformer
    )
    return [f"{cls.__module__}.{cls.__qualname__}" for cls in classes]


def load(path, *, device=None):
    """Load an estimator written by ``save``; nothing in the file can steer it.

    The file is parsed as data against a closed schema: ``load`` builds
    only sklstm's estimators and the scikit-learn classes listed under
    ``save``, never imports a module that the file names, and checks every
    parameter, fitted attribute, weight and optimizer buffer against the
    others before any of them is used. Its time and memory grow with the
    size of the file.

    Parameters
    ----------
    path : str or path-like
        A file written by ``sklstm.save``.
    device : {"cpu", "cuda", "cuda:N"} or None, default=None
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
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If ``path`` is not a regular file (a directory, device or FIFO), or
        the file is not an sklstm model file (for instance a pickle or a
        ``torch.save`` file, which are refused without being unpickled), is
        damaged or tampered with, or was written in a newer format than
        this sklstm reads. The message says what is wrong.

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
    if device is not None and not (isinstance(device, str) and _DEVICE.fullmatch(device)):
        raise ValueError(f"device must be None, 'cpu', 'cuda' or 'cuda:N', got {device!r}.")
    data = _read_file(path)
    try:
        tensors, metadata = _parse_safetensors(data)
    except ValueError as exc:
        raise ValueError(
            f"{path} is not an sklstm model file ({exc}). sklstm.load reads only "
            "files written by sklstm.save; it never unpickles pickle or torch "
            "files. Load a pickle only if you trust its source, with pickle.load."
        ) from None
    header = _check_header(path, metadata)
    reader = _Reader(data, tensors, device)
    try:
        estimator = reader.estimator(header["estimator"])
        unused = set(tensors) - reader.used
        if unused:
            raise ValueError(
                f"it holds {len(unused)} tensor(s) that nothing refers to, e.g. "
                f"{_shown(min(unused))}"
            )
    except (ValueError, TypeError, RuntimeError, OverflowError, RecursionError) as exc:
        raise ValueError(f"{path} is a damaged or tampered sklstm model file: {exc}") from None
    return estimator


def _read_file(path):
    """Return the bytes of the regular file at ``path``, read (not mapped) once."""
    # O_NONBLOCK: opening a FIFO must not wait for a writer.
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
    except BaseException:
        os.close(fd)
        raise
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise ValueError(
            f"{path} is not a regular file (a directory, device or FIFO); "
            "sklstm.load reads files written by sklstm.save."
        )
    with open(fd, "rb") as f:
        data = f.read(info.st_size + 1)
    if len(data) != info.st_size:
        raise ValueError(f"{path} changed while it was read; load it again once it is written.")
    return data


def _parse_safetensors(data):
    """Return ``({name: (dtype, shape, start, stop)}, metadata)`` of a safetensors file.

    Every tensor's dtype, shape and byte range is checked against the bytes
    present (within the file, the size its shape needs, not overlapping
    another); nothing is allocated from a number in the header.
    """
    if len(data) < 8:
        raise ValueError("it is shorter than a safetensors header")
    length = int.from_bytes(data[:8], "little")
    if length > len(data) - 8:
        raise ValueError(f"its header length ({length} bytes) exceeds the file")
    try:
        header = _json(data[8 : 8 + length].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"its header is not valid JSON: {exc}") from None
    if not isinstance(header, dict):
        raise ValueError("its header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    start, size = 8 + length, len(data) - 8 - length
    tensors, ranges = {}, []
    for name, info in header.items():
        if not (isinstance(info, dict) and set(info) == {"dtype", "shape", "data_offsets"}):
            raise ValueError(
                f"tensor {_shown(name)} is not described by dtype, shape and data_offsets"
            )
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not (isinstance(dtype, str) and dtype in _DTYPES):
            raise ValueError(
                f"tensor {_shown(name)} has dtype {_shown(dtype)}; sklstm model files "
                f"hold only {sorted(_DTYPES)}"
            )
        if not (_is_int_list(shape) and len(shape) <= MAX_NDIM and min(shape, default=0) >= 0):
            raise ValueError(f"tensor {_shown(name)} has an invalid shape {_shown(shape)}")
        pair = _is_int_list(offsets) and len(offsets) == 2
        if not (pair and 0 <= offsets[0] <= offsets[1] <= size):
            raise ValueError(f"tensor {_shown(name)} has data offsets outside the file")
        dtype = np.dtype(_DTYPES[dtype])
        if offsets[1] - offsets[0] != math.prod(shape) * dtype.itemsize:
            raise ValueError(
                f"tensor {_shown(name)} of shape {shape} and dtype {info['dtype']} "
                f"needs {math.prod(shape) * dtype.itemsize} bytes, its offsets give "
                f"{offsets[1] - offsets[0]}"
            )
        tensors[name] = (dtype, tuple(shape), start + offsets[0], start + offsets[1])
        ranges.append(offsets)
    ranges.sort()
    if any(a[1] > b[0] for a, b in zip(ranges, ranges[1:])):
        raise ValueError("the byte ranges of two tensors overlap")
    return tensors, metadata


def _check_header(path, metadata):
    """Return the sklstm header in ``metadata``, checked field by field."""
    try:
        if not (isinstance(metadata, dict) and set(metadata) == {FORMAT}):
            raise ValueError("no sklstm metadata")
        header = _json(metadata[FORMAT])
        if not (isinstance(header, dict) and header.get("format") == FORMAT):
            raise ValueError("no sklstm format field")
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{path} is a safetensors file but not one written by sklstm.save "
            f"(its header has no valid sklstm metadata: {exc})."
        ) from None
    version = header.get("format_version")
    if type(version) is not int or version < 1:
        raise ValueError(
            f"{path} has an invalid format_version {_shown(version)}; sklstm.save "
            "writes a positive integer."
        )
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path} was written by sklstm {_shown(header.get('sklstm_version'))} in "
            f"model format {version}; this sklstm reads format {FORMAT_VERSION} and "
            "older. Upgrade sklstm to load it."
        )
    unknown = set(header) - _HEADER_KEYS - {"estimator"}
    if unknown or "estimator" not in header:
        what = f"unknown fields {_shown(sorted(unknown))}" if unknown else "no estimator"
        raise ValueError(f"{path} is a damaged sklstm model file: its header has {what}.")
    saved = header.get("sklearn_version")
    if saved != sklearn.__version__:
        warnings.warn(
            f"{path} was saved with scikit-learn {_shown(saved)} and is loaded with "
            f"{sklearn.__version__}; scikit-learn estimators in it may behave differently.",
            UserWarning,
            stacklevel=3,  # the caller of load
        )
    return header


def _json(text):
    """Parse JSON text, refusing repeated keys and nesting beyond ``MAX_DEPTH``."""
    try:
        return json.loads(text, object_pairs_hook=_object)
    except RecursionError:
        raise ValueError("its JSON is nested too deeply") from None


def _object(pairs):
    value = dict(pairs)
    if len(value) != len(pairs):
        raise ValueError("a JSON object repeats a key")
    return value


def _is_int_list(value):
    return isinstance(value, list) and all(type(v) is int for v in value)


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
            if _schema.OPTIMIZER_CLASSES.get(value.__name__) is not value:
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
        if cls not in _schema.SPECS:
            _refuse(estimator, where, (
                "sklstm.load builds only sklstm's estimators and these scikit-learn "
                f"classes: {', '.join(_schema.SKLEARN_NAMES)}"
            ))
        params = estimator.get_params(deep=False)
        state = {k: v for k, v in vars(estimator).items() if k not in params}
        state.pop("history_", None)  # the net's history, saved with it
        net = state.pop("net_", None)
        unknown = set(state) - _schema.SPECS[cls].attributes
        if unknown:
            why = "it is not a fitted attribute sklstm.load reads"
            _refuse(estimator, f"{where}.{min(unknown)}", why)
        tree = {
            _TAG: "estimator",
            "class": _schema.class_name(cls),
            "params": {k: self.encode(v, f"{where}.{k}") for k, v in params.items()},
        }
        if net is not None:
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
    """Turns the JSON of ``_Writer`` back into plain values and checked estimators.

    Each tensor is read at most once (``used``), so a file cannot make one
    buffer count many times; strings get no more room than their text needs.
    """

    def __init__(self, data, tensors, device):
        self.data, self.tensors, self.device = data, tensors, device
        self.used = set()

    def decode(self, value, depth=0):
        if depth > MAX_DEPTH:
            raise ValueError(f"its values are nested more than {MAX_DEPTH} deep")
        if value is None or type(value) in (bool, int, float, str):
            return value
        if isinstance(value, list):
            _check_size(value)
            return [self.decode(v, depth + 1) for v in value]
        if not isinstance(value, dict):
            raise TypeError(f"unexpected JSON value {_shown(value)}")
        tag = value.get(_TAG)
        if tag == "estimator":
            return self.estimator(value, depth)
        fields = _FIELDS.get(tag)
        if fields is None or set(value) != fields:
            raise ValueError(
                f"{_shown(tag)} is not a known value tag with fields {_shown(sorted(value))}"
            )
        if tag == "tuple":
            return tuple(self.decode(_list(value["items"]), depth + 1))
        if tag == "dict":
            return self._dict(value["items"], depth)
        if tag in ("array", "tensor"):
            return self.array(value["key"])
        if tag == "scalar":
            array = self.decode(value["array"], depth + 1)
            if not (isinstance(array, np.ndarray) and array.ndim == 0):
                raise ValueError("a scalar is not a 0-d array")
            return array[()]
        if tag == "strings":
            return _strings(value)
        if tag == "dtype":
            if value["name"] not in _DTYPE_NAMES:
                raise ValueError(f"dtype {_shown(value['name'])} is not one sklstm saves")
            return np.dtype(value["name"])
        if tag == "optimizer":
            name = value["name"]
            optimizer = _schema.OPTIMIZER_CLASSES.get(name) if isinstance(name, str) else None
            if optimizer is None:
                raise ValueError(f"{_shown(value['name'])} is not an optimizer of torch.optim")
            return optimizer
        raise AssertionError(tag)  # every tag of _FIELDS is handled above

    def _dict(self, items, depth):
        pairs = [
            (_key(self.decode(k, depth + 2)), self.decode(v, depth + 2))
            for k, v in (_pair(item) for item in _list(items))
        ]
        result = dict(pairs)
        if len(result) != len(pairs):
            raise ValueError("a dict repeats a key")
        return result

    def array(self, key):
        """Read the tensor named ``key`` (once) as a writable numpy array."""
        if not (isinstance(key, str) and key in self.tensors):
            raise ValueError(f"it refers to a tensor {_shown(key)} that it does not hold")
        if key in self.used:
            raise ValueError(f"it refers to tensor {_shown(key)} more than once")
        self.used.add(key)
        dtype, shape, start, stop = self.tensors[key]
        array = np.frombuffer(self.data, dtype=dtype, count=math.prod(shape), offset=start)
        return array.reshape(shape).copy()

    def estimator(self, tree, depth=0):
        if not (isinstance(tree, dict) and tree.get(_TAG) == "estimator"):
            raise ValueError(f"it holds {_shown(tree)} where an estimator belongs")
        return _schema.build(self, tree, depth + 1)

    def net_device(self, saved):
        """The device of a network saved on ``saved``: the caller's, or where it can run."""
        return net_device(saved, self.device)


def net_device(saved, requested=None):
    """Where to rebuild a network saved on ``saved``: ``requested``, or where it can run."""
    if not (isinstance(saved, str) and _DEVICE.fullmatch(saved)):
        raise ValueError(f"a network's device {_shown(saved)} is not 'cpu' or 'cuda'")
    if requested is not None:
        return requested
    if saved.startswith("cuda") and not torch.cuda.is_available():
        warnings.warn(
            "This model was trained on CUDA, and no CUDA device is present: "
            "its weights are loaded on the CPU.",
            UserWarning,
            stacklevel=3,
        )
        return "cpu"
    return saved


# The fields of each value tag.
_FIELDS = {
    "tuple": {_TAG, "items"}, "dict": {_TAG, "items"}, "array": {_TAG, "key"},
    "tensor": {_TAG, "key"}, "scalar": {_TAG, "array"},
    "strings": {_TAG, "dtype", "shape", "values"}, "dtype": {_TAG, "name"},
    "optimizer": {_TAG, "name"},
}


def _list(value):
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {_shown(value)}")
    _check_size(value)
    return value


def _check_size(value):
    if len(value) > MAX_ITEMS:
        raise ValueError(f"a list holds more than {MAX_ITEMS} items")


def _pair(item):
    if not (isinstance(item, list) and len(item) == 2):
        raise TypeError("a dict item is not a [key, value] pair")
    return item


def _key(key):
    """A dict key: a string, or a number whose hash no file can steer into collisions.

    Integers are limited to 64 bits: ints colliding in Python's hash differ
    by multiples of 2**61 - 1, so at most a few fit in that range.
    """
    if isinstance(key, np.generic) and key.dtype.kind in "biuf":
        key = key.item()
    if isinstance(key, str) or key is None or type(key) is bool:
        return key
    if type(key) is int and -(2**63) <= key < 2**64:
        return key
    if type(key) is float and math.isfinite(key):
        return key
    raise TypeError(f"a dict key {_shown(key)} is not a string or a 64-bit number")


def _strings(value):
    """A string array, given no more room than its strings need (plus 64 KiB)."""
    dtype, shape, values = value["dtype"], value["shape"], _list(value["values"])
    if not (_is_int_list(shape) and len(shape) <= MAX_NDIM and min(shape, default=0) >= 0):
        raise ValueError(f"a string array has an invalid shape {_shown(shape)}")
    if math.prod(shape) != len(values) or not all(isinstance(v, str) for v in values):
        raise ValueError(
            f"a string array of shape {shape} does not hold {math.prod(shape)} strings"
        )
    if dtype == "|O":
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array.reshape(shape)
    if not (isinstance(dtype, str) and re.fullmatch(r"<U[0-9]{1,9}", dtype)):
        raise ValueError(f"string dtype {_shown(dtype)} is not one sklstm saves")
    width = int(dtype[2:])
    text = sum(map(len, values))
    too_wide = width * len(values) > 4 * (text + len(values)) + 2**16
    if too_wide or width < max(map(len, values), default=0):
        raise ValueError(
            f"a string array of dtype {dtype} would take {4 * width * len(values)} bytes "
            f"for {text} characters of text"
        )
    return np.array(values, dtype=f"<U{width}").reshape(shape)
