"""One computation in a forked child process, so that it runs on the second core while this
process goes on, and can be abandoned (killed) at a deadline.

Used for the relaxed bound flow, which is independent of the solution being built.  Linux
only (fork + a parent-death signal); elsewhere, or on one core, :func:`start` returns None
and the caller computes in-process.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Callable
from typing import Any


def die_with_parent() -> None:
    try:  # PR_SET_PDEATHSIG: a killed engine process must not leave its helper running
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def _run(fn: Callable[[], Any], send) -> None:
    die_with_parent()
    send.send(fn())
    send.close()


class Job:
    def __init__(self, proc, recv):
        self._proc, self._recv = proc, recv

    def result(self, deadline: float | None = None) -> Any | None:
        """The child's return value, or None if it died or ``deadline`` (a
        ``time.perf_counter()`` instant) passed first; the child is gone afterwards."""
        try:
            left = None if deadline is None else max(0.0, deadline - time.perf_counter())
            if self._recv.poll(left):
                return self._recv.recv()
            return None
        except (EOFError, OSError):
            return None
        finally:
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join()
            self._recv.close()


def start(fn: Callable[[], Any]) -> Job | None:
    if ("fork" not in mp.get_all_start_methods() or not hasattr(os, "sched_getaffinity")
            or len(os.sched_getaffinity(0)) < 2):
        return None
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_run, args=(fn, send), daemon=True)
    proc.start()
    send.close()
    return Job(proc, recv)
