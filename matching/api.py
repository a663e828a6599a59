"""Public entry points: ``solve`` and its result dict (the format page's "Result")."""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from . import eligibility as el
from .deadline import solve_by
from .engine import PHASES, solve_instance
from .explain import why
from .model import Instance, parse_instance
from .validate import validate

# measured: building, validating and writing the result take 2.2 µs of CPU per need (0.22 s
# at 100k needs); a time limit keeps that much out, times how much slower than its CPU time
# this process is running (a loaded machine shares its cores)
POST_CPU_PER_NEED = 4e-6
POST_CPU_FIXED = 0.02


class EngineError(RuntimeError):
    """The engine produced a result the validator rejects (a bug: nothing may be proposed)."""


def slowdown(started: float, cpu_started: float) -> float:
    """Wall seconds per CPU second this process has had since ``started`` (1 on a free core,
    more when the machine is loaded): what the rest of the work will take, per CPU second.
    Too little CPU time to tell: the load average per core."""
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if cpu >= 0.05:
        f = wall / cpu
    else:
        try:
            f = os.getloadavg()[0] / (os.cpu_count() or 1)
        except OSError:
            f = 1.0
    return min(10.0, max(1.0, f))


def solve(instance: dict | Instance, time_limit: float | None = None,
          explain: bool = False, check: bool = True,
          started: float | None = None, started_cpu: float | None = None) -> dict[str, Any]:
    """Allocate sources to needs.  ``instance`` is the JSON dict (or a parsed :class:`Instance`).

    Returns ``{"allocations": [...], "unfunded": [...], "stats": {...}}``; allocations are in
    need order, then source order, so the same input always gives the same output.  With
    ``check`` (the default) the result is passed through :func:`validate` first and any
    violation raises :class:`EngineError`; ``stats.seconds`` includes that check.

    ``time_limit`` (seconds, counted from ``started``, a ``time.perf_counter()`` instant that
    defaults to now) bounds the whole call: the best valid result found by then is returned,
    with a valid bound.  It cannot be shorter than parsing the instance takes.
    ``started_cpu`` is ``time.process_time()`` at ``started`` (the CLI passes 0: the
    process start); it tells how loaded the machine is.
    """
    t0 = time.perf_counter() if started is None else started
    cpu0 = time.process_time() if started_cpu is None else started_cpu
    inst = instance if isinstance(instance, Instance) else parse_instance(instance)
    if time_limit is None:
        out = solve_instance(inst)
    else:
        # keep time for building, validating and writing the result (linear in the size)
        slow = slowdown(t0, cpu0)
        reserve = (POST_CPU_PER_NEED * inst.cols.n + POST_CPU_FIXED) * slow + 0.02 * time_limit
        out = solve_by(inst, t0 + time_limit - reserve, slow)
    c = inst.cols
    n_idx = out.live[out.j]  # grants come sorted by need, then source
    ids, sids = c.ids, [s.id for s in inst.sources]
    rows = zip(n_idx.tolist(), out.si.tolist(), out.amount.tolist(), strict=True)
    if explain:
        needs: dict[int, Any] = {}
        allocations = []
        for (n, si, amt), ph in zip(rows, out.phase.tolist(), strict=True):
            need = needs.get(n) or needs.setdefault(n, inst.need(n))
            allocations.append({"need": ids[n], "source": sids[si], "amount": amt,
                                "why": why(inst.sources[si], need, amt, PHASES[ph],
                                           inst.as_of)})
    else:
        allocations = [{"need": ids[n], "source": sids[si], "amount": amt}
                       for n, si, amt in rows]
    totals = np.zeros(c.n, dtype=np.int64)
    np.add.at(totals, n_idx, out.amount)
    spent = int(out.amount.sum())
    result = {
        "allocations": allocations,
        "unfunded": [ids[i] for i in np.flatnonzero(totals == 0).tolist()],
        "stats": {
            "objective": el.objective_of(c, totals),
            "upper_bound": out.upper_bound,
            "seconds": round(time.perf_counter() - t0, 4),
            "funded_needs": int(np.count_nonzero((c.open > 0) & (totals == c.open))),
            "partly_funded_needs": int(np.count_nonzero((totals > 0) & (totals < c.open))),
            "stranded": sum(s.budget for s in inst.sources) - spent,
            "rounds": out.rounds,
            "graph": out.graph,
        },
    }
    if check:
        problems = validate(inst, result)
        if problems:
            raise EngineError(f"{len(problems)} violation(s), first: {problems[0]}")
    result["stats"]["seconds"] = round(time.perf_counter() - t0, 4)
    return result
