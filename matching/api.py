"""Public entry points: ``solve`` and its result dict (the format page's "Result")."""

from __future__ import annotations

import time
from typing import Any

from . import eligibility as el
from .deadline import solve_by
from .engine import solve_instance
from .explain import why
from .model import Instance, parse_instance
from .validate import validate

# measured: building, validating and writing the result take 10 µs per need on a quiet
# machine and up to 25 on this shared 2-core one; kept for them out of a time limit
POST_SECONDS_PER_NEED = 2.5e-5


class EngineError(RuntimeError):
    """The engine produced a result the validator rejects (a bug: nothing may be proposed)."""


def solve(instance: dict | Instance, time_limit: float | None = None,
          explain: bool = False, check: bool = True,
          started: float | None = None) -> dict[str, Any]:
    """Allocate sources to needs.  ``instance`` is the JSON dict (or a parsed :class:`Instance`).

    Returns ``{"allocations": [...], "unfunded": [...], "stats": {...}}``; allocations are in
    need order, then source order, so the same input always gives the same output.  With
    ``check`` (the default) the result is passed through :func:`validate` first and any
    violation raises :class:`EngineError`; ``stats.seconds`` includes that check.

    ``time_limit`` (seconds, counted from ``started``, a ``time.perf_counter()`` instant that
    defaults to now) bounds the whole call: the best valid result found by then is returned,
    with a valid bound.  It cannot be shorter than parsing the instance takes.
    """
    t0 = time.perf_counter() if started is None else started
    inst = instance if isinstance(instance, Instance) else parse_instance(instance)
    if time_limit is None:
        eng = solve_instance(inst)
    else:
        # keep time for building, validating and writing the result (linear in the size)
        reserve = POST_SECONDS_PER_NEED * len(inst.needs) + 0.03 * time_limit
        eng = solve_by(inst, t0 + time_limit - reserve)
    live = eng.live
    allocations = []
    totals: dict[str, int] = {}
    for (si, j), amt in sorted(eng.pair.items(), key=lambda kv: (live[kv[0][1]], kv[0][0])):
        if amt <= 0:
            continue
        n, s = inst.needs[live[j]], inst.sources[si]
        a: dict[str, Any] = {"need": n.id, "source": s.id, "amount": amt}
        if explain:
            a["why"] = why(s, n, amt, eng.phase[(si, j)], inst.as_of)
        allocations.append(a)
        totals[n.id] = totals.get(n.id, 0) + amt
    objective = el.objective(inst, totals)
    spent = sum(totals.values())
    result = {
        "allocations": allocations,
        "unfunded": [n.id for n in inst.needs if n.id not in totals],
        "stats": {
            "objective": objective,
            "upper_bound": eng.upper_bound,
            "seconds": round(time.perf_counter() - t0, 4),
            "funded_needs": sum(1 for n in inst.needs if n.open > 0 and totals.get(n.id) == n.open),
            "partly_funded_needs": sum(
                1 for n in inst.needs if 0 < totals.get(n.id, 0) < n.open),
            "stranded": sum(s.budget for s in inst.sources) - spent,
            "rounds": eng.rounds,
            "graph": eng.graph,
        },
    }
    if check:
        problems = validate(inst, result)
        if problems:
            raise EngineError(f"{len(problems)} violation(s), first: {problems[0]}")
    result["stats"]["seconds"] = round(time.perf_counter() - t0, 4)
    return result
