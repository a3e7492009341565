"""Several operating-system processes hitting one database at once, for the concurrency tests.

Each worker is a plain function run in a fresh (spawned) interpreter with its own connection; it
returns a picklable result, and an exception in it comes back as the text ``"Type: message"``,
so a test can assert that no process failed and say how one did.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections.abc import Callable, Sequence
from typing import Any

# spawn, not fork: a forked child would share the parent's open sockets and locks.
_CONTEXT = multiprocessing.get_context("spawn")


def _run(worker: Callable[..., Any], args: tuple[Any, ...], results: Any, slot: int) -> None:
    try:
        results.put((slot, worker(*args)))
    except BaseException as exc:  # reported, never lost: the parent asserts on it
        results.put((slot, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))


def run_processes(
    worker: Callable[..., Any], args: Sequence[tuple[Any, ...]], *, timeout: float
) -> list[Any]:
    """``worker(*a)`` for each ``a`` of ``args``, each in its own process, all at once; their
    results in the order of ``args``. Raises AssertionError if one has not ended by ``timeout``."""
    results = _CONTEXT.Queue()
    processes = [
        _CONTEXT.Process(target=_run, args=(worker, a, results, slot), daemon=True)
        for slot, a in enumerate(args)
    ]
    for process in processes:
        process.start()
    try:
        collected = dict(results.get(timeout=timeout) for _ in processes)
    except queue.Empty:
        raise AssertionError(f"a process did not report within {timeout} s") from None
    finally:
        for process in processes:
            process.join(timeout=5)
            if process.is_alive():
                process.kill()
                process.join()
    return [collected[slot] for slot in range(len(processes))]


def barrier(parties: int) -> Any:
    """A barrier the processes of ``run_processes`` can share (pass it in their args)."""
    return _CONTEXT.Barrier(parties)


def assert_none_failed(results: Sequence[Any]) -> None:
    """No worker raised; else the first line of each failure, a broken barrier (a consequence
    of another worker's failure) last."""
    failures = sorted(
        (r for r in results if isinstance(r, str)), key=lambda r: r.startswith("BrokenBarrier")
    )
    assert failures == [], "\n".join(f.splitlines()[0] for f in failures)
