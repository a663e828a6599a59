"""Solving under a time limit.

A min-cost flow cannot be interrupted, so the engine runs in a forked child process that is
killed at the deadline, while this process computes the no-flow greedy allocation as a
fallback (0.999 of the bound at 100k needs, in 0.6 s of CPU).  The child reports its result
as soon as the repair is done (before a bound flow of its own, if it needs one) and again at
the end; the best result received in time wins.  When the time left is clearly too short
for the engine (``ENGINE_CPU_PER_NEED``, times how loaded the machine is), no child is
started, so the fallback has the CPU to itself; otherwise the child runs at a lower
priority (nice 5), so that on a busy machine the fallback is complete first.  Without
``fork`` (not Linux/macOS) the engine runs here and the limit only stops refinement.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time

from .background import die_with_parent
from .engine import Engine, Outcome, quick_bound
from .model import Instance

# measured at 100k needs: network, flow and repair take 1.3 s of CPU
ENGINE_CPU_PER_NEED = 1.5e-5


def _child(inst: Instance, deadline: float, quick_ub: float, send) -> None:
    die_with_parent()
    try:  # on a busy machine the fallback (the answer if this child is late) goes first
        os.nice(5)
    except OSError:
        pass
    eng = Engine(inst, deadline, quick_ub)
    eng.run(report=lambda o: send.send(("partial", o)))
    send.send(("final", eng.outcome()))
    send.close()


def solve_by(inst: Instance, deadline: float, slowdown: float = 1.0) -> Outcome:
    """The best outcome available at ``deadline`` (a ``time.perf_counter()`` instant);
    ``slowdown``: wall seconds per CPU second on this machine now (see ``api.slowdown``)."""
    if "fork" not in mp.get_all_start_methods():
        eng = Engine(inst, deadline)
        eng.run()
        return eng.outcome()
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    c = inst.cols
    lv = c.live(inst.as_of)
    quick_ub = quick_bound(c.weight[lv], c.open[lv], sum(s.budget for s in inst.sources))
    # the child and the fallback stop earlier, so that their results (pickled through the
    # pipe, scored here) are in hand at the deadline
    left = max(0.0, deadline - time.perf_counter())
    early = deadline - 0.15 * left
    proc = None
    if left > ENGINE_CPU_PER_NEED * int(lv.sum()) * slowdown:
        # not a daemon: it may start a helper of its own (background.py); killed below
        proc = ctx.Process(target=_child, args=(inst, early, quick_ub, send))
        proc.start()
    send.close()
    try:
        fb = Engine(inst, early, quick_ub)
        fb.fallback()
        best = fb.outcome()
        best_value = best.value(inst)
        bound = best.upper_bound  # every bound received bounds the instance: keep the least
        while proc is not None:
            left = deadline - time.perf_counter()
            if left <= 0 or not recv.poll(left):
                break
            try:
                kind, out = recv.recv()
            except EOFError:  # the child died (e.g. out of memory): keep the fallback
                break
            bound = min(bound, out.upper_bound)
            v = out.value(inst)
            if v >= best_value:
                best, best_value = out, v
            if kind == "final":
                break
    finally:
        if proc is not None:
            if proc.is_alive():
                proc.kill()
            proc.join()
        recv.close()
    best.upper_bound = bound
    return best
