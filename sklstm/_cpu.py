"""CPU settings while sklstm computes: denormal floats and torch's threads.

Denormals. Arithmetic on denormal floats (below 1.2e-38 in float32) is many
times slower on x86 CPUs, and training produces them: saturated LSTM gates
on unscaled inputs, gradients vanishing along long sequences. Flushing them
to zero changes results by less than the smallest normal float.
``torch.set_flush_denormal`` sets the flag of the calling thread only; the
OpenMP threads that run most of torch's (and MKL's) work keep their own. So
``flush_denormal`` also runs it in each thread of torch's OpenMP team, by a
parallel region of that same OpenMP runtime, and restores every thread's
setting afterwards. Without an OpenMP runtime it can drive (not Linux or
the GNU / LLVM / Intel runtime), only the calling thread is set.

Threads. Worker processes (joblib's default loky backend, Dask) get
OMP_NUM_THREADS = cores // workers, which torch follows. Threads of one
process (joblib's threading backend, a thread pool) share torch's default
of one thread per core: two fits at once would run twice as many threads as
cores, slower than one after the other. ``share_threads`` counts the fits
and predictions running at once in this process and gives each its share
of the cores, for its own thread only (an OpenMP setting per thread), again
at each epoch as others start and finish.
"""

import ctypes
import functools
import os
import threading
from contextlib import contextmanager

import torch

_DENORMAL = 1e-40  # a float32 denormal, read as 0 when flushing
_REGION_BODY = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


@functools.cache
def native_bfloat16():
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX).

    Elsewhere oneDNN emulates bfloat16, slower than float32. The probes are
    torch's own (``torch.cpu``); a torch without them answers False.
    """
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def is_flushing():
    """Whether the calling thread flushes denormal floats to zero."""
    return torch.tensor(_DENORMAL, dtype=torch.float32).item() == 0.0


@contextmanager
def flush_denormal():
    """Flush denormals to zero in this thread and torch's OpenMP threads."""
    before = on_every_thread(_start_flushing)

    def restore(thread):
        was = before[thread] if thread < len(before) else None
        torch.set_flush_denormal(before[0] if was is None else was)

    try:
        yield
    finally:
        on_every_thread(restore)


_running = 0  # sklstm fits and predictions running now in this process
_running_lock = threading.Lock()
_share = threading.local()


@contextmanager
def share_threads():
    """Run torch, in this thread, on its share of the threads while others run."""
    global _running
    runtime = _openmp_runtime()
    if runtime is None or getattr(_share, "own", None) is not None:
        yield  # no runtime to set, or already inside (fit calling predict)
        return
    with _running_lock:
        _running += 1
    _share.own = _share.current = runtime.omp_get_max_threads()
    try:
        rebalance_threads()
        yield
    finally:
        runtime.omp_set_num_threads(_share.own)
        _share.own = None
        with _running_lock:
            _running -= 1


def rebalance_threads():
    """Give this thread its share of torch's threads, as many run now."""
    own = getattr(_share, "own", None)
    if own is None:
        return
    share = max(1, own // max(1, _running))
    if share != _share.current:
        _openmp_runtime().omp_set_num_threads(share)
        _share.current = share


def _start_flushing(thread):
    was = is_flushing()
    torch.set_flush_denormal(True)
    return was


def on_every_thread(func):
    """Call ``func(thread_number)`` in each thread of torch's OpenMP team.

    The calling thread is number 0. Returns the results by thread number; a
    single thread (or no usable OpenMP runtime) means one call, here.
    """
    n_threads = torch.get_num_threads()
    runtime = _openmp_runtime()
    if n_threads == 1 or runtime is None:
        return [func(0)]
    results = [None] * n_threads

    def body(_):
        thread = runtime.omp_get_thread_num()
        results[thread] = func(thread)

    runtime.GOMP_parallel(_REGION_BODY(body), None, ctypes.c_uint(n_threads), ctypes.c_uint(0))
    return results


@functools.cache
def _openmp_runtime():
    """The OpenMP library torch runs on, if one with the GNU entry points is loaded."""
    from threadpoolctl import threadpool_info

    torch.get_num_threads()  # make sure torch's runtime is loaded
    found = [
        lib["filepath"] for lib in threadpool_info() if lib["user_api"] == "openmp"
    ]
    torch_dir = os.path.dirname(os.path.realpath(torch.__file__))
    own = [path for path in found if os.path.realpath(path).startswith(torch_dir)]
    candidates = own or (found if len(found) == 1 else [])
    if not candidates:
        return None
    try:
        runtime = ctypes.CDLL(candidates[0])
        runtime.GOMP_parallel.restype = None
        runtime.omp_get_thread_num.restype = ctypes.c_int
        runtime.omp_get_max_threads.restype = ctypes.c_int
        runtime.omp_set_num_threads.argtypes = [ctypes.c_int]
    except (OSError, AttributeError):
        return None
    return runtime
