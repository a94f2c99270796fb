"""Run a function in a fresh process, so that a crash fails one test, not the run.

Processes fork from a forkserver that has imported sklstm (and run nothing
else), so each starts in milliseconds from a clean state. The child's
address space may grow by at most ``memory_limit`` bytes: an attempt to
allocate more raises MemoryError there, which the test sees.
"""

import multiprocessing
import resource
import traceback

_CONTEXT = multiprocessing.get_context("forkserver")
# torch imports its compiler (seconds) at the first optimizer: once, here.
_CONTEXT.set_forkserver_preload(["sklstm", "torch._dynamo"])


def run_isolated(function, *args, memory_limit=2**30, timeout=120):
    """Return ``(exception type name or None, result or message)`` of ``function(*args)``.

    Fails (AssertionError) if the process crashes (a signal, e.g. SIGSEGV)
    or runs past ``timeout`` seconds.
    """
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(target=_child, args=(sender, function, args, memory_limit))
    process.start()
    sender.close()
    try:
        outcome = receiver.recv() if receiver.poll(timeout) else None
    except EOFError:  # the child died before it answered
        outcome = None
    process.join(timeout=30)
    if process.is_alive():
        process.kill()
        process.join()
        raise AssertionError(f"{function.__name__}{args!r} ran past {timeout} s")
    assert process.exitcode == 0 and outcome is not None, (
        f"{function.__name__} crashed the process (exit code {process.exitcode})"
    )
    return outcome


def _child(sender, function, args, memory_limit):
    with open("/proc/self/statm") as f:
        size = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (size + memory_limit, resource.RLIM_INFINITY))
    try:
        outcome = (None, function(*args))
    except BaseException as exc:  # reported to the test, which judges the type
        outcome = (type(exc).__name__, f"{exc}\n{traceback.format_exc(limit=-3)}")
    sender.send(outcome)
    sender.close()
