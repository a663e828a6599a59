"""Two simple allocators the engine is measured against (pure, same result format).

* first-come-first-served: needs in posting order, each takes from sources in input order;
* greedy-by-urgency: most urgent first, then most people per yuan, then earliest deadline.

Both respect every rule (the validator checks them in the benchmark).
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import date

from . import eligibility as el
from .model import Instance, parse_instance


def _fill(inst: Instance, order: list[int]) -> dict:
    t0 = time.perf_counter()
    index = el.SourceIndex(inst.sources)
    budget = [s.budget for s in inst.sources]
    ben_used: dict[tuple[int, str], int] = defaultdict(int)
    allocations, totals = [], {}
    for i in order:
        n = inst.needs[i]
        if not el.is_live(n, inst.as_of):
            continue
        rem = n.open
        for si in index.candidates(n):
            s = inst.sources[si]
            if budget[si] <= 0 or not el.pair_ok(s, n):
                continue
            lim = min(rem, budget[si], el.grant_limit(s, n))
            bc = el.beneficiary_cap(s, n)
            if bc is not None:
                lim = min(lim, bc - ben_used[(si, n.beneficiary)])
            if lim <= 0 or (n.whole and lim < n.open):
                continue
            budget[si] -= lim
            rem -= lim
            if bc is not None:
                ben_used[(si, n.beneficiary)] += lim
            allocations.append({"need": n.id, "source": s.id, "amount": lim})
            totals[n.id] = totals.get(n.id, 0) + lim
            if rem == 0:
                break
    return {
        "allocations": allocations,
        "unfunded": [n.id for n in inst.needs if n.id not in totals],
        "stats": {
            "objective": el.objective(inst, totals),
            "seconds": round(time.perf_counter() - t0, 4),
            "funded_needs": sum(1 for n in inst.needs if n.open > 0 and totals.get(n.id) == n.open),
            "stranded": sum(budget),
        },
    }


def first_come_first_served(instance: dict | Instance) -> dict:
    inst = instance if isinstance(instance, Instance) else parse_instance(instance)
    order = sorted(range(len(inst.needs)),
                   key=lambda i: (inst.needs[i].posted_at is None, inst.needs[i].posted_at or "", i))
    return _fill(inst, order)


def greedy_by_urgency(instance: dict | Instance) -> dict:
    inst = instance if isinstance(instance, Instance) else parse_instance(instance)

    def key(i: int):
        n = inst.needs[i]
        return (-n.urgency, -n.people / max(1, n.open), n.deadline or date.max, i)

    return _fill(inst, sorted(range(len(inst.needs)), key=key))
