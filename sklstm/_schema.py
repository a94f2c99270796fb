"""The closed schema of model files: which classes ``sklstm.load`` builds, and how it checks them.

``load`` builds an estimator only of a class in ``SPECS``, found by the
name the file gives in a fixed table (no module is imported because a file
names it). For each class, the spec lists the fitted attributes a file may
set and checks them: types, shapes, and consistency with the parameters and
with each other. Parameters pass the class's own validation
(``_parameter_constraints`` and the rules ``fit`` applies) before anything is
built, and parameters that would make later calls reach outside the file (a
``Pipeline``'s cache directory) are refused. An LSTM estimator's weights are
compared with the network its parameters describe, built on torch's
``meta`` device (shapes only, no memory), and its optimizer state with the
state that optimizer itself creates for that network, before torch sees
either.
"""

import math

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, RobustScaler, StandardScaler
from skorch.history import History

from ._classifier import LSTMSequenceClassifier
from ._module import LSTMNet
from ._regressor import LSTMSequenceRegressor
from ._scaler import SequenceScaler
from ._windows import SlidingWindowTransformer

# The optimizer classes a file may name: those torch.optim defines, less the
# two that cannot train this network (SparseAdam needs sparse gradients, Muon
# 2-D parameters only), so that no loaded model fails at its first step.
OPTIMIZER_CLASSES = {
    name: cls for name, cls in vars(torch.optim).items()
    if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)
    and name not in {"Optimizer", "SparseAdam", "Muon"}
}

_OUTPUT_CONFIG = "_sklearn_output_config"  # set_output's choice, e.g. {"transform": "pandas"}


class Spec:
    """What a file may hold for one class.

    ``required`` and ``optional`` name the fitted attributes (a file sets
    all required ones, or none for an unfitted estimator); ``check_params``
    and ``check_state`` raise ValueError or TypeError on anything wrong;
    ``has_net``: the fitted estimator holds a network (``net_``);
    ``added_params``: parameters newer than some files, with the value that
    gives what those files' models did (whatever the class's default).
    """

    def __init__(self, public_name, required=(), optional=(), check_params=None,
                 check_state=None, has_net=False, added_params=None):
        self.public_name = public_name
        self.added_params = dict(added_params or {})
        self.required = frozenset(required)
        self.attributes = self.required | set(optional) | {_OUTPUT_CONFIG}
        self.check_params = check_params or (lambda estimator, size: estimator._validate_params())
        self.check_state = check_state or (lambda estimator: None)
        self.has_net = has_net


def build(reader, tree, depth):
    """Build the estimator described by ``tree``, checking everything it holds."""
    cls = _CLASSES.get(tree.get("class")) if isinstance(tree.get("class"), str) else None
    if cls is None:
        raise ValueError(
            f"it names the class {shown(tree.get('class'))}, which sklstm.load does "
            f"not build; it builds sklstm's estimators and {', '.join(SKLEARN_NAMES)}"
        )
    spec = SPECS[cls]
    fields = {"~", "class", "params", "state"} | ({"net"} if "net" in tree else set())
    if set(tree) != fields:
        raise ValueError(f"the {cls.__name__} entry has fields {shown(sorted(tree))}")
    params = _object(tree["params"], f"{cls.__name__} parameters")
    unknown = set(params) - set(cls._get_param_names())
    if unknown:
        raise ValueError(f"{cls.__name__} has no parameter {shown(min(unknown))}")
    values = {k: reader.decode(v, depth + 1) for k, v in params.items()}
    estimator = cls(**{**spec.added_params, **values})
    spec.check_params(estimator, len(reader.data))

    state = _object(tree["state"], f"{cls.__name__} fitted attributes")
    unknown = set(state) - spec.attributes
    fitted = bool(set(state) - {_OUTPUT_CONFIG})  # set_output's choice alone is not a fit
    missing = spec.required - set(state) if fitted else set()
    if unknown or missing:
        which = f"an unknown attribute {shown(min(unknown))}" if unknown else (
            f"only part of its fitted attributes (no {min(missing)})")
        raise ValueError(f"the {cls.__name__} entry sets {which}")
    for name, value in state.items():
        setattr(estimator, name, reader.decode(value, depth + 1))
    _check_output_config(estimator)
    if fitted:
        spec.check_state(estimator)
    if spec.has_net and fitted != ("net" in tree):
        what = "no network" if fitted else "a network but no fitted attributes"
        raise ValueError(f"the {cls.__name__} entry has {what}")
    if not spec.has_net and "net" in tree:
        raise ValueError(f"a {cls.__name__} has no network")
    if "net" in tree:
        _restore_net(reader, estimator, _object(tree["net"], "network"), depth + 1)
    return estimator


def class_name(cls):
    """The name a file gives ``cls``."""
    return SPECS[cls].public_name


# -- checks of parameters -----------------------------------------------------------


def _check_lstm_params(estimator, file_size):
    estimator._validate_params()
    # _check_params makes a tuple entry per layer: no more than the file has bytes.
    if estimator.num_layers > file_size:
        raise ValueError(f"num_layers={estimator.num_layers} exceeds what the file can describe")
    estimator._check_params()
    if estimator.callbacks:
        raise ValueError("callbacks are code: a model file holds none")
    if estimator.lstm_stride > _MAX_STRIDE:  # export_onnx traces a window of it
        raise ValueError(f"lstm_stride={estimator.lstm_stride} exceeds {_MAX_STRIDE}")


# A stride over a million steps is no model anyone trains; export_onnx would
# trace sequences that long.
_MAX_STRIDE = 2**20


def _check_window_params(windows, file_size):
    windows._validate_params()
    windows._check_params()


def _check_range_params(name, low, high):
    """The rule ``fit`` applies to a scaler's range parameter: ``low <= a < b <= high``."""

    def check(scaler, file_size):
        scaler._validate_params()
        pair = getattr(scaler, name)
        numbers = all(isinstance(v, (int, float)) and math.isfinite(v) for v in pair)
        if not (len(pair) == 2 and numbers and low <= pair[0] < pair[1] <= high):
            within = f" within [{low}, {high}]" if math.isfinite(high) else ""
            raise ValueError(f"{name} {shown(list(pair))} is not a pair a < b of numbers{within}")

    return check


def _check_pipeline_params(pipeline, file_size):
    pipeline._validate_params()
    if pipeline.memory is not None:
        # joblib's cache unpickles what it finds in that directory.
        raise ValueError("a Pipeline's memory (a cache directory) is not loaded from files")
    steps = pipeline.steps
    pairs = all(isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], str) for s in steps)
    if not pairs:
        raise ValueError("a Pipeline's steps are not (name, estimator) pairs")
    if not all(type(step) in SPECS or step in (None, "passthrough") for _, step in steps):
        raise ValueError("a Pipeline step is not an estimator sklstm.load builds")
    pipeline._validate_steps()


# -- checks of fitted attributes -------------------------------------------------------


def _check_auto_choice(estimator, param, choices):
    """Check and set ``param_``: ``param`` itself, or one of ``choices`` for "auto"."""
    given = getattr(estimator, param)
    chosen = getattr(estimator, param + "_", given)
    allowed = choices if given == "auto" else (given,)
    if not (chosen is None or isinstance(chosen, str)) or chosen not in allowed:
        raise ValueError(f"{param}_ {shown(chosen)} is not what {param}={given!r} chooses")
    setattr(estimator, param + "_", chosen)


def _check_input_scaling(estimator):
    """``input_mean_`` and ``input_scale_``: both None, or (``normalize_="both"``) arrays."""
    names = ("input_mean_", "input_scale_")
    for name in names:  # files written before "both" scaled the steps as given have neither
        setattr(estimator, name, getattr(estimator, name, None))
    if estimator.input_mean_ is None and estimator.input_scale_ is None:
        return
    if estimator.normalize_ != "both":
        raise ValueError(f"input_mean_ and input_scale_ are set, but normalize_ is "
                         f"{estimator.normalize_!r}, not 'both'")
    n = estimator._n_step_features()
    for name in names:
        _float_array(estimator, name, (n,), finite=True)
    if not (estimator.input_scale_ > 0).all():
        raise ValueError("input_scale_ has a scale that is not positive")


def _check_lstm_state(estimator):
    _n_features(estimator)
    # Files written before normalize="auto" and autocast="auto" apply
    # (normalize) or trained in (autocast) the parameter as it is.
    _check_auto_choice(estimator, "normalize", (None, "both"))
    _check_auto_choice(estimator, "autocast", (None, "bfloat16"))
    if estimator._layout not in ("table", "sequences"):
        raise ValueError(f"_layout {shown(estimator._layout)} is not 'table' or 'sequences'")
    dtype = estimator._dtype
    if not (isinstance(dtype, np.dtype) and dtype in (np.float32, np.float64)):
        raise ValueError("_dtype is not float32 or float64")
    _count(estimator, "n_iter_", low=0)
    _check_input_scaling(estimator)
    if isinstance(estimator, LSTMSequenceClassifier):
        classes = estimator.classes_
        if not (isinstance(classes, np.ndarray) and classes.ndim == 1 and len(classes) >= 2):
            raise ValueError("classes_ is not a 1-D array of at least 2 classes")
        if classes.dtype.kind not in "biufUO" or (classes.dtype.kind == "O" and not all(
                isinstance(c, str) for c in classes)):
            raise ValueError(f"classes_ has dtype {classes.dtype}, not numbers or strings")
        if classes.dtype.kind == "f" and not np.isfinite(classes).all():
            raise ValueError("classes_ holds a NaN or infinite label")
        if not np.array_equal(np.unique(classes), classes):
            raise ValueError("classes_ is not sorted and unique, as fit makes it")
    else:
        n_outputs = _count(estimator, "n_outputs_", low=1)
        for name in ("_y_center", "_y_scale"):
            _float_array(estimator, name, (n_outputs,), finite=True)
        if not (estimator._y_scale > 0).all():
            raise ValueError("_y_scale has a scale that is not positive")
        if type(estimator._y_1d) is not bool or (estimator._y_1d and n_outputs != 1):
            raise ValueError("_y_1d is not a bool that agrees with n_outputs_")


def _check_sequence_scaler_state(scaler):
    _n_features(scaler)
    if scaler._layout not in ("table", "sequences"):
        raise ValueError(f"_layout {shown(scaler._layout)} is not 'table' or 'sequences'")
    n = 1 if scaler._layout == "table" else scaler.n_features_in_
    for name in ("mean_", "var_", "scale_"):
        _float_array(scaler, name, (n,), finite=True)
    if (scaler.var_ < 0).any() or (scaler.scale_ <= 0).any():
        raise ValueError("var_ or scale_ is negative or zero")


def _check_table_state(*arrays, samples=None, optional=()):
    """Checks of a scikit-learn scaler: arrays of one value per column."""

    def check(scaler):
        n = _n_features(scaler)
        for name in arrays:
            if not (name in optional and getattr(scaler, name) is None):
                _float_array(scaler, name, (n,))
        if samples is not None:
            # An int, a NumPy scalar or one count per feature, as sklearn leaves it.
            seen = np.asarray(scaler.n_samples_seen_)
            if not (
                isinstance(scaler.n_samples_seen_, (int, np.ndarray, np.integer, np.floating))
                and seen.shape in ((), (n,)) and seen.dtype.kind in "iuf"
                and np.isfinite(seen).all() and (seen >= 0).all()
            ):
                raise ValueError("n_samples_seen_ is not a count, or one count per feature")

    return check


def _n_features(estimator):
    n = _count(estimator, "n_features_in_", low=1)
    names = getattr(estimator, "feature_names_in_", None)
    if names is not None and not (
        isinstance(names, np.ndarray) and names.shape == (n,) and names.dtype == object
        and all(isinstance(name, str) for name in names)
    ):
        raise ValueError("feature_names_in_ is not one string per feature")
    return n


def _count(estimator, name, low):
    value = getattr(estimator, name)
    if isinstance(value, np.integer):
        value = int(value)
        setattr(estimator, name, value)
    if type(value) is not int or value < low:
        raise ValueError(f"{name} is {shown(value)}, not an int >= {low}")
    return value


def _float_array(estimator, name, shape, finite=False):
    value = getattr(estimator, name)
    if not (isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.shape == shape):
        raise ValueError(f"{name} is not a float array of shape {shape}")
    if finite and not np.isfinite(value).all():
        raise ValueError(f"{name} holds a NaN or infinite value")


def _check_output_config(estimator):
    config = getattr(estimator, _OUTPUT_CONFIG, None)
    if config is not None and not (
        isinstance(config, dict) and set(config) <= {"transform"}
        and all(v in ("default", "pandas", "polars") for v in config.values())
    ):
        raise ValueError(f"{_OUTPUT_CONFIG} is not a set_output configuration")


# -- the network ---------------------------------------------------------------------


def _restore_net(reader, estimator, tree, depth):
    """Check the saved network of a fitted LSTM estimator, then rebuild ``net_``."""
    if set(tree) != {"device", "module", "optimizer", "history"}:
        raise ValueError(f"the network has fields {shown(sorted(tree))}")
    restore_net(
        estimator,
        reader.net_device(tree["device"]),
        reader.decode(tree["module"], depth + 1),
        reader.decode(tree["optimizer"], depth + 1),
        reader.decode(tree["history"], depth + 1),
    )


def restore_net(estimator, device, module_state, optimizer_state, history):
    """Rebuild ``net_`` on ``device`` from plain state, once it matches the estimator.

    The state is what ``sklstm.save`` writes and what a pickle holds: the
    weights and optimizer buffers as arrays, the history as a list of dicts.
    """
    history = _history(history)
    if len(history) != estimator.n_iter_:
        raise ValueError(
            f"n_iter_ is {estimator.n_iter_} but the history has {len(history)} epochs"
        )
    module_state = _module_state(estimator, module_state)
    net = estimator._initialized_net(device)
    optimizer_state = _optimizer_state(net.optimizer_, optimizer_state)
    estimator._adopt_net(net, module_state, optimizer_state, History(history))


def _module_state(estimator, saved):
    """``saved`` as tensors, once it matches the network the parameters describe."""
    if not (isinstance(saved, dict) and all(isinstance(v, np.ndarray) for v in saved.values())):
        raise ValueError("the network's weights are not a dict of tensors")
    hidden_sizes = estimator._check_params()
    conv = tuple(estimator.conv_channels or ())
    if len(hidden_sizes) + len(conv) > len(saved):  # each layer has several tensors
        raise ValueError(
            f"the parameters describe {len(hidden_sizes)} LSTM and {len(conv)} "
            f"convolutional layers, but the file holds only {len(saved)} weight tensors"
        )
    params = estimator._module_params(estimator._n_step_features(), estimator._dtype, hidden_sizes)
    with torch.device("meta"):  # shapes only: nothing is allocated
        expected = LSTMNet(**params).state_dict()
    if set(saved) != set(expected):
        extra = sorted(set(saved) ^ set(expected))[0]
        raise ValueError(
            f"the weights do not match the network its parameters describe (e.g. "
            f"{shown(extra)} is only in one of them)"
        )
    for key, reference in expected.items():
        _same_tensor(saved[key], reference, f"weight {key}")
    return {key: torch.from_numpy(value) for key, value in saved.items()}


def _same_tensor(array, reference, what):
    dtype = np.dtype(str(reference.dtype).removeprefix("torch."))
    shape = tuple(reference.shape)
    if not (isinstance(array, np.ndarray) and array.shape == shape and array.dtype == dtype):
        found = f"{array.dtype} {array.shape}" if isinstance(array, np.ndarray) else shown(array)
        raise ValueError(f"{what} is {found}; the network needs {dtype} {shape}")


def _optimizer_state(optimizer, saved):
    """``saved`` as an optimizer state dict, once each buffer matches ``optimizer``'s own.

    The reference is the state ``optimizer``'s class creates in one step on
    zero gradients of the same parameters, with the same settings: the
    buffers' names, shapes and dtypes that its (fused) step will index.
    The saved settings are not used: the optimizer keeps its own.
    """
    if not (isinstance(saved, dict) and set(saved) == {"state", "param_groups"}):
        raise ValueError("the optimizer state is not a dict of state and param_groups")
    fresh = optimizer.state_dict()
    groups = saved["param_groups"]
    if not (isinstance(groups, list) and len(groups) == len(fresh["param_groups"]) and all(
        isinstance(g, dict) and g.get("params") == f["params"]
        for g, f in zip(groups, fresh["param_groups"])
    )):
        raise ValueError("the optimizer's parameter groups do not match the network")
    state = saved["state"]
    params = [p for group in optimizer.param_groups for p in group["params"]]
    n = len(params)
    if not (isinstance(state, dict) and all(type(i) is int and 0 <= i < n for i in state)):
        raise ValueError("the optimizer state is not keyed by parameter index")
    if isinstance(optimizer, torch.optim.LBFGS):
        reference = _lbfgs_reference(optimizer, state)
    else:
        reference = _reference_state(optimizer) if state else {}
    checked = {}
    for index, entry in state.items():
        checked[index] = _buffers(entry, reference.get(index), index)
    return {"state": checked, "param_groups": fresh["param_groups"]}


def _reference_state(optimizer):
    """The state ``type(optimizer)`` creates in one step on zero gradients of its parameters."""
    groups = []
    for group in optimizer.param_groups:
        params = [torch.zeros_like(p, requires_grad=True) for p in group["params"]]
        for p in params:
            p.grad = torch.zeros_like(p)
        groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": params})
    probe = type(optimizer)(groups)
    probe.step()
    return probe.state_dict()["state"]


def _buffers(entry, reference, index):
    """One parameter's saved state, as tensors, checked against ``reference``."""
    if not (isinstance(entry, dict) and all(isinstance(k, str) for k in entry)):
        raise ValueError(f"the optimizer state of parameter {index} is not a dict")
    if not entry:
        return {}
    if reference is None or set(entry) != set(reference):
        raise ValueError(
            f"the optimizer state of parameter {index} holds {shown(sorted(entry))}; "
            f"this optimizer keeps {shown(sorted(reference or {}))}"
        )
    return {
        key: _buffer(value, reference[key], f"optimizer buffer {key!r} of parameter {index}",
                     counter=key == "step")
        for key, value in entry.items()
    }


def _buffer(value, reference, what, counter=False):
    if isinstance(reference, list):
        if not (isinstance(value, list) and len(value) == len(reference)):
            raise ValueError(f"{what} is not a list of {len(reference)} entries")
        return [_buffer(v, r, f"{what}[{i}]") for i, (v, r) in enumerate(zip(value, reference))]
    if type(reference) is float and isinstance(value, np.ndarray) and value.shape == () \
            and value.dtype.kind == "f" and np.isfinite(value):
        return torch.from_numpy(value)  # LBFGS's t: a float or a 0-d tensor
    if reference is None or type(reference) in (int, float, bool):
        finite = type(value) is not float or math.isfinite(value)
        if type(value) is not type(reference) or not finite:
            raise ValueError(f"{what} is {shown(value)}, not a finite {type(reference).__name__}")
        return value
    if counter and isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind == "f":
        # Adam's step: float32, or float64 where torch's default dtype was float64.
        if not (np.isfinite(value) and value >= 0 and value == np.round(value)):
            raise ValueError(f"{what} is {float(value)}, not a step count")
        return torch.from_numpy(value)
    _same_tensor(value, reference, what)
    return torch.from_numpy(value)


def _lbfgs_reference(optimizer, state):
    """The shape of LBFGS's state (kept for the first parameter), from its saved lists' lengths.

    LBFGS keeps flat vectors over all parameters and a curvature history of
    at most ``history_size`` pairs.
    """
    params = optimizer.param_groups[0]["params"]
    entry = state.get(0)
    if set(state) - {0} or not isinstance(entry, dict):
        return {}
    size = sum(p.numel() for p in params)
    flat = torch.empty(size, dtype=params[0].dtype, device="meta")
    scalar = torch.empty((), dtype=params[0].dtype, device="meta")
    history_size = optimizer.param_groups[0]["history_size"]
    n_pairs = len(entry.get("old_dirs", ()))
    if n_pairs > history_size:
        raise ValueError(f"LBFGS keeps at most {history_size} curvature pairs, the file {n_pairs}")
    keys = set(entry)
    reference = {"func_evals": 0, "n_iter": 0}
    if keys != set(reference):
        al = entry.get("al")
        al_reference = [None if v is None else scalar for v in al] if isinstance(al, list) else None
        reference.update(
            d=flat, t=0.0, old_dirs=[flat] * n_pairs, old_stps=[flat] * n_pairs,
            ro=[scalar] * n_pairs, H_diag=scalar, prev_flat_grad=flat, prev_loss=0.0,
            al=al_reference,
        )
        if al_reference is None or len(al_reference) != history_size:
            raise ValueError(f"LBFGS's 'al' is not a list of {history_size} entries")
    return {0: reference}


def _history(history):
    """A training history: a list of epochs, each a dict of numbers, strings and batches."""
    if not isinstance(history, list):
        raise ValueError("the history is not a list of epochs")
    for epoch in history:
        _row(epoch, "an epoch")
        batches = epoch.get("batches")
        for batch in batches if isinstance(batches, list) else ():
            _row(batch, "a batch")
    return history


def _row(row, what):
    if not (isinstance(row, dict) and all(isinstance(k, str) for k in row)):
        raise ValueError(f"{what} of the history is not a dict with string keys")
    for key, value in row.items():
        if key == "batches" and what == "an epoch" and isinstance(value, list):
            continue
        if not (value is None or type(value) in (bool, int, float, str) or (
                isinstance(value, np.generic) and value.dtype.kind in "biuf")):
            raise ValueError(f"{what} of the history has a value {shown(value)} for {shown(key)}")


# -- the closed list ------------------------------------------------------------------

_LSTM = dict(
    optional=("feature_names_in_", "normalize_", "autocast_", "input_mean_", "input_scale_"),
    check_params=_check_lstm_params,
    check_state=_check_lstm_state, has_net=True,
    # Files written before sklstm had per-sequence normalization, its own
    # inference batch size, the LSTM's stride, the convergence test, mixed
    # precision, the channels-first layout and truncated back-propagation.
    added_params={
        "normalize": None, "predict_batch_size": "auto", "lstm_stride": 1, "tol": None,
        "autocast": None, "data_format": "channels_last", "bptt_window": None,
    },
)
SPECS = {
    LSTMSequenceClassifier: Spec(
        "sklstm.LSTMSequenceClassifier",
        required=("n_features_in_", "classes_", "_layout", "_dtype", "n_iter_"), **_LSTM,
    ),
    LSTMSequenceRegressor: Spec(
        "sklstm.LSTMSequenceRegressor",
        required=("n_features_in_", "n_outputs_", "_y_center", "_y_scale", "_y_1d",
                  "_layout", "_dtype", "n_iter_"), **_LSTM,
    ),
    SequenceScaler: Spec(
        "sklstm.SequenceScaler", required=("n_features_in_", "_layout", "mean_", "var_", "scale_"),
        optional=("feature_names_in_",), check_state=_check_sequence_scaler_state,
        added_params={"data_format": "channels_last"},
    ),
    SlidingWindowTransformer: Spec(
        "sklstm.SlidingWindowTransformer", required=("n_features_in_",),
        optional=("feature_names_in_",), check_params=_check_window_params,
        check_state=_n_features, added_params={"data_format": "channels_last"},
    ),
    Pipeline: Spec("sklearn.pipeline.Pipeline", check_params=_check_pipeline_params),
    StandardScaler: Spec(
        "sklearn.preprocessing.StandardScaler",
        required=("n_features_in_", "n_samples_seen_", "mean_", "var_", "scale_"),
        optional=("feature_names_in_",),
        check_state=_check_table_state(
            "mean_", "var_", "scale_", samples=True, optional=("mean_", "var_", "scale_")),
    ),
    MinMaxScaler: Spec(
        "sklearn.preprocessing.MinMaxScaler",
        required=("n_features_in_", "n_samples_seen_", "min_", "scale_", "data_min_",
                  "data_max_", "data_range_"),
        optional=("feature_names_in_",),
        check_params=_check_range_params("feature_range", -math.inf, math.inf),
        check_state=_check_table_state(
            "min_", "scale_", "data_min_", "data_max_", "data_range_", samples=True),
    ),
    MaxAbsScaler: Spec(
        "sklearn.preprocessing.MaxAbsScaler",
        required=("n_features_in_", "n_samples_seen_", "max_abs_", "scale_"),
        optional=("feature_names_in_",),
        check_state=_check_table_state("max_abs_", "scale_", samples=True),
    ),
    RobustScaler: Spec(
        "sklearn.preprocessing.RobustScaler", required=("n_features_in_", "center_", "scale_"),
        optional=("feature_names_in_",), check_params=_check_range_params("quantile_range", 0, 100),
        check_state=_check_table_state("center_", "scale_", optional=("center_", "scale_")),
    ),
}
SKLEARN_NAMES = [spec.public_name.rpartition(".")[2] for cls, spec in SPECS.items()
                 if spec.public_name.startswith("sklearn.")]
# A class by the name save writes, or by its module path (which earlier files give).
_CLASSES = {
    **{f"{cls.__module__}.{cls.__qualname__}": cls for cls in SPECS},
    **{spec.public_name: cls for cls, spec in SPECS.items()},
}


def _object(value, what):
    if not isinstance(value, dict) or "~" in value:
        raise ValueError(f"the {what} are not a JSON object")
    return value


def shown(value, limit=60):
    """``value`` for an error message: escaped (ascii) and short."""
    if isinstance(value, str):
        text = ascii(value[:limit])
    elif value is None or type(value) in (bool, int, float):
        text = ascii(value) if type(value) is not int or abs(value) < 10**30 else "a huge int"
    elif isinstance(value, list) and len(value) <= 8:
        text = "[" + ", ".join(shown(v, limit // 4) for v in value) + "]"
    else:
        text = f"a {type(value).__name__}"
    return text if len(text) <= limit + 2 else text[:limit] + "..."
