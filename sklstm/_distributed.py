"""Data-parallel training on ``torch.distributed``.

A fit is data-parallel when it runs in a process group of several processes,
each calling ``fit`` on the same data: under ``torchrun`` or ``accelerate
launch`` (which set ``RANK``, ``WORLD_SIZE`` and ``MASTER_ADDR``; sklstm
initializes the process group if the script did not), or in the workers of
``sklstm.parallel_fit``. Every rank draws the same order of the training set
each epoch and computes the loss of its share of each batch; the gradients
are summed over the ranks before each optimizer step, and the batch norm
statistics over the whole batch, so that the ranks keep identical weights
and take the same steps as one process training on the same batches. The
validation set is scored whole by every rank, so that the history, early
stopping and the convergence test agree everywhere.
"""

import contextlib
import contextvars
import datetime
import numbers
import os
import threading
import zlib
from typing import NamedTuple

import numpy as np
import torch
import torch.distributed as dist


class Group(NamedTuple):
    """The process groups of a data-parallel fit, and this process's place in them.

    ``group`` carries the collectives on the fit's device, ``cpu_group``
    those on CPU tensors (the seed, the checks); None is the default group.
    """

    group: object
    cpu_group: object
    rank: int
    size: int


class DistributedFitError(RuntimeError):
    """A process of a data-parallel fit failed, left, or was given other data.

    Raised by ``fit`` in each process of a ``torch.distributed`` fit (under
    ``torchrun``, ``accelerate launch`` or ``parallel_fit``) when the ranks
    were given different data or parameters, or when a peer stopped taking
    part (its own error says why). No model is kept.
    """


def active_group(device):
    """The ``Group`` of a data-parallel fit on ``device``, or None for a plain fit.

    Uses the default process group when the program initialized one with
    more than one process, else initializes it from a launcher's
    environment (``WORLD_SIZE`` > 1, ``RANK``, ``MASTER_ADDR``,
    ``MASTER_PORT``). A CPU fit in an NCCL group runs its collectives in a
    gloo group over the same processes.
    """
    if not dist.is_available():
        return None
    if not dist.is_initialized():
        env = os.environ
        if int(env.get("WORLD_SIZE", "1") or 1) <= 1:
            return None
        missing = [k for k in ("RANK", "MASTER_ADDR", "MASTER_PORT") if k not in env]
        if missing:
            raise DistributedFitError(
                f"WORLD_SIZE={env['WORLD_SIZE']} asks for a data-parallel fit, but "
                f"{', '.join(missing)} is not set. Start the script with torchrun or "
                "accelerate launch, which set all four, or unset WORLD_SIZE."
            )
        backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend, timeout=datetime.timedelta(minutes=10))
    if dist.get_world_size() <= 1:
        return None
    cpu_group = None if "gloo" in str(dist.get_backend()) else _gloo_group()
    if device == "cuda" and "LOCAL_RANK" in os.environ and torch.cuda.device_count() > 1:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))  # one GPU per local rank
    group = cpu_group if device == "cpu" else None
    return Group(group, cpu_group, dist.get_rank(), dist.get_world_size())


_GLOO = {}


def _gloo_group():
    # new_group is itself collective: every rank creates it at the same fit.
    key = id(dist.distributed_c10d._get_default_group())
    if key not in _GLOO:
        _GLOO[key] = dist.new_group(backend="gloo")
    return _GLOO[key]


def shared_seed(group, seed):
    """Rank 0's ``seed``, on every rank."""
    value = torch.tensor([seed], dtype=torch.int64)
    dist.broadcast(value, src=0, group=group.cpu_group)
    return int(value.item())


def check_same_fit(group, data, net):
    """Raise ``DistributedFitError`` unless every rank fits the same data and network.

    Compares the sizes of the data, checksums of its targets, weights and of
    its first and last sequences, and the network's parameter count.
    """
    def crc(array):
        return 0 if array is None else zlib.crc32(np.ascontiguousarray(array).tobytes())

    n = len(data)
    first, _ = data.batch(np.array([0])) if n else ({"x": None}, None)
    last, _ = data.batch(np.array([n - 1])) if n else ({"x": None}, None)
    fields = {
        "the number of training sequences": n,
        "the features per step": data.n_features,
        "the longest sequence": data.longest,
        "the targets": crc(data.y),
        "the sample weights": crc(data.weight),
        "the first sequence": crc(first["x"].numpy()) if n else 0,
        "the last sequence": crc(last["x"].numpy()) if n else 0,
        "the network's size": sum(p.numel() for p in net.module_.parameters()),
        "max_epochs": net.max_epochs,
    }
    values = torch.tensor(list(fields.values()), dtype=torch.int64)
    low, high = values.clone(), values.clone()
    dist.all_reduce(low, op=dist.ReduceOp.MIN, group=group.cpu_group)
    dist.all_reduce(high, op=dist.ReduceOp.MAX, group=group.cpu_group)
    differ = [name for name, a, b in zip(fields, low, high) if a != b]
    if differ:
        raise DistributedFitError(
            f"The {group.size} processes of this data-parallel fit disagree on "
            f"{', '.join(differ)}. Every rank must call fit with the same X, y, "
            "sample_weight and parameters (each reads its own share of every batch); "
            "to fit separate models in a process group, fit outside it."
        )


def broadcast_weights(group, module):
    """Give every rank rank 0's parameters and buffers."""
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=0, group=group.group)


def sum_gradients(group, parameters):
    """Sum the gradients of ``parameters`` over the ranks, in one collective."""
    params = [p for p in parameters if p.requires_grad]
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, group=group.group)
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p)
        offset += n


def sum_tensor(group, tensor):
    """``tensor`` summed over the ranks, differentiable (for batch norm statistics)."""
    return _SumOverRanks.apply(tensor, group.group)


class _SumOverRanks(torch.autograd.Function):
    """All-reduce (sum) whose gradient is the sum of the ranks' gradients.

    Each rank's loss depends on the sum through its own share; the loss of
    the whole batch is the sum of the shares' losses, so the gradient with
    respect to a rank's term is the sum over the ranks.
    """

    @staticmethod
    def forward(ctx, tensor, group):
        ctx.group = group
        total = tensor.clone()
        dist.all_reduce(total, group=group)
        return total

    @staticmethod
    def backward(ctx, grad):
        total = grad.clone()
        dist.all_reduce(total, group=ctx.group)
        return total, None


def sum_value(group, tensor):
    """A detached copy of ``tensor`` summed over the ranks."""
    total = tensor.detach().clone()
    dist.all_reduce(total, group=group.group)
    return total


def shard(indices, weight, group):
    """This rank's share of a batch and the part of the batch's loss weight it holds.

    ``weight`` holds the loss weights of the batch's sequences (aligned with
    ``indices``), or is None. Returns ``(indices, share, empty)``: the
    batch's sequences are split into ``group.size`` nearly equal parts;
    ``share`` is this part's sum of weights over the batch's (its number of
    sequences over the batch's when ``weight`` is None). A batch smaller
    than the group leaves some ranks no sequence: they compute on the
    batch's first one at zero weight (``empty``), so that every rank takes
    part in each collective.
    """
    mine = np.array_split(np.arange(len(indices)), group.size)[group.rank]
    if len(mine) == 0:
        return indices[:1], 0.0, True
    if weight is None:
        return indices[mine], len(mine) / len(indices), False
    whole = float(weight.sum())
    share = float(weight[mine].sum()) / whole if whole > 0 else 1.0 / group.size
    return indices[mine], share, False


@contextlib.contextmanager
def attached(group, net):
    """Train ``net`` as a rank of ``group``: its batches and batch norms take part.

    On leaving, the net and its module hold no reference to the group: the
    fitted model is an ordinary one.
    """
    from ._module import SequenceBatchNorm

    norms = [m for m in net.module_.modules() if isinstance(m, SequenceBatchNorm)]
    net.iterator_train__group = net.process_group_ = group
    for norm in norms:
        norm.process_group = group
    try:
        yield
    finally:
        del net.iterator_train__group, net.process_group_
        for norm in norms:
            norm.process_group = None


@contextlib.contextmanager
def reporting_failures(group):
    """Turn a collective's failure (a rank died or left) into a ``DistributedFitError``."""
    if group is None:
        yield
        return
    try:
        yield
    except (dist.DistError, RuntimeError) as exc:
        if isinstance(exc, DistributedFitError) or not _is_collective_failure(exc):
            raise
        raise DistributedFitError(
            f"Rank {group.rank} of this {group.size}-process data-parallel fit lost its "
            f"peers: {str(exc).strip().splitlines()[0]}. Another process of the fit "
            "failed or was stopped; its own error says why. No model is kept."
        ) from exc


def _is_collective_failure(exc):
    if isinstance(exc, dist.DistError):
        return True
    text = str(exc).lower()
    return any(word in text for word in ("gloo", "nccl", "connection", "peer", "timed out"))


# The engine of ``parallel_fit`` in this context (None: fits run here).
_ENGINE = contextvars.ContextVar("sklstm_parallel_fit", default=None)
_RANK_LOCK = threading.Lock()  # one rank of one fit per worker process at a time


class _DaskEngine(NamedTuple):
    client: object
    n_workers: int | None
    timeout: float


@contextlib.contextmanager
def parallel_fit(client=None, *, n_workers=None, timeout=600):
    """Run ``fit`` calls as data-parallel fits on the workers of a Dask cluster.

    Inside the ``with`` block, ``fit`` of an LSTM estimator sends the
    estimator and the data to ``n_workers`` workers of ``client``, which
    start a ``torch.distributed`` process group (gloo, over the workers'
    own network) and train as the ranks of a ``torchrun`` launch do: each
    on its share of every batch, with the gradients summed over the ranks.
    The fitted state of rank 0 comes back into the estimator, an ordinary
    one that predicts, pickles and saves in this process.

    Parameters
    ----------
    client : distributed.Client, default=None
        The cluster's client; None uses the current one
        (``distributed.get_client()``).
    n_workers : int, default=None
        Ranks of each fit, one per worker; None uses every worker.
    timeout : float, default=600
        Seconds that a rank waits for its peers to join the process group
        and at each collective before the fit fails.

    Yields
    ------
    None

    Notes
    -----
    A fit with the same parameters and ``random_state`` trains the model of
    a single-process fit on the same batches (equal up to floating-point
    rounding; exactly the same order of batches, initial weights and
    validation split). The workers need sklstm and the same torch version.
    A worker that dies or fails ends the fit with ``DistributedFitError``
    (or the worker's own error). ``partial_fit`` runs in this process.

    Examples
    --------
    >>> from distributed import Client, LocalCluster
    >>> from sklstm import LSTMSequenceClassifier, parallel_fit
    >>> from sklstm.datasets import make_sequence_classification
    >>> X, y = make_sequence_classification(n_samples=40, random_state=0)
    >>> with LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
    ...                   dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
    ...     with parallel_fit(client):
    ...         clf = LSTMSequenceClassifier(max_epochs=2, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """
    if client is None:
        try:
            from distributed import get_client

            client = get_client()
        except (ImportError, ValueError) as exc:
            raise ValueError(
                "parallel_fit needs a dask.distributed Client: pass one, or create it "
                "first (e.g. Client(LocalCluster(n_workers=2))). Install Dask with "
                "pip install 'sklstm[dask]'."
            ) from exc
    if n_workers is not None and (
        not isinstance(n_workers, numbers.Integral) or isinstance(n_workers, bool) or n_workers < 1
    ):
        raise ValueError(f"n_workers must be a positive int or None, got {n_workers!r}.")
    if not (isinstance(timeout, numbers.Real) and 0 < timeout < 1e9):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}.")
    token = _ENGINE.set(_DaskEngine(client, n_workers, float(timeout)))
    try:
        yield
    finally:
        _ENGINE.reset(token)


def engine():
    """The ``parallel_fit`` engine of this context, or None."""
    return _ENGINE.get()


def fit_on_workers(estimator, X, y, sample_weight, engine):
    """Fit ``estimator`` as ranks on the engine's workers; return rank 0's fitted copy."""
    from distributed import wait

    estimator._check_params()  # a bad parameter fails here, before the cluster is used
    client = engine.client
    workers = sorted(client.scheduler_info()["workers"])
    n = len(workers) if engine.n_workers is None else engine.n_workers
    if n > len(workers):
        raise ValueError(
            f"parallel_fit(n_workers={n}) needs {n} workers; the cluster has {len(workers)}."
        )
    workers = workers[:n]
    host, port = client.submit(_free_address, workers=[workers[0]], pure=False).result()
    X, y, sample_weight = client.scatter([X, y, sample_weight], workers=workers, broadcast=True)
    futures = [
        client.submit(
            _fit_rank, estimator, X, y, sample_weight, rank, n, f"tcp://{host}:{port}",
            engine.timeout, workers=[worker], allow_other_workers=False, pure=False,
            retries=0,
        )
        for rank, worker in enumerate(workers)
    ]
    # A rank that fails makes the others fail at their next collective; a
    # worker that dies leaves its task waiting for it: stop at the first.
    pending, failed = set(futures), []
    while pending and not failed:
        done, pending = wait(pending, return_when="FIRST_COMPLETED")
        failed = [f for f in done if f.status != "finished"]
    if failed:
        with contextlib.suppress(TimeoutError):  # the peers fail soon after: find the cause
            wait(pending, timeout=10)
        errors = [f.exception() for f in futures if f.status == "error"]
        client.cancel(futures)
        # The cause rather than a peer's report of it, where there is one.
        errors.sort(key=lambda e: isinstance(e, DistributedFitError))
        if errors:
            raise errors[0]
        raise DistributedFitError(
            f"A worker of this {n}-worker data-parallel fit was lost; no model is kept."
        )
    return futures[0].result()


def _free_address():
    import socket

    from distributed import get_worker

    host = get_worker().address.split("://", 1)[-1].rsplit(":", 1)[0]
    with socket.socket() as s:
        s.bind((host, 0))
        return host, s.getsockname()[1]


def _fit_rank(estimator, X, y, sample_weight, rank, size, address, timeout):
    with _RANK_LOCK:
        if dist.is_initialized():
            raise DistributedFitError(
                "This Dask worker already belongs to a torch.distributed process group; "
                "parallel_fit needs workers of their own."
            )
        dist.init_process_group(
            "gloo", init_method=address, rank=rank, world_size=size,
            timeout=datetime.timedelta(seconds=timeout),
        )
        try:
            estimator.fit(X, y, sample_weight=sample_weight)
        finally:
            dist.destroy_process_group()
    return estimator if rank == 0 else None
