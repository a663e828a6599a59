"""The allocation engine: LP relaxation by min-cost flow, whole-need repair, re-packing.

1. Round 1 solves the linear relaxation (every need divisible) on :class:`graph.Network`; its
   cost gives ``upper_bound``.
2. The flow is decomposed into (source, need) grants; a whole need is kept only when one
   source funds all of it; everything else is released.
3. Further rounds re-solve on what is left (whole needs still divisible in the model), until a
   round keeps no new whole need or ``MAX_ROUNDS`` is reached.
4. Unfunded whole needs are re-packed, most valuable per fen first, into the tightest single
   leftover budget that can take them whole.
5. A last flow spends what is left on divisible needs only.

Costs: the objective per fen of need n is w = 10^(u-1)·people/open.  The flow uses integer
unit costs c = 8·round(K·w) + t, where t ∈ 1..7 favours spending at all (stranding less)
and earlier deadlines; K is the largest scale keeping |c|·(nodes+1) within OR-Tools' int64
range.  The upper bound is made honest for the rounding: for every feasible x,
K·Σw·x ≤ Σc·x + Σ max(0, K·w−c)·open, so ``upper_bound`` = that bound at the optimal flow.
"""

from __future__ import annotations

import time
from collections import defaultdict
from fractions import Fraction

from . import eligibility as el
from .graph import Network
from .model import Instance

MAX_ROUNDS = 3
_COST_LIMIT = 2**59


def _tiebreak(n, as_of) -> int:
    if n.deadline is None:
        return 1
    days = (n.deadline - as_of).days
    for t, lim in ((7, 7), (6, 30), (5, 90), (4, 180), (3, 365)):
        if days <= lim:
            return t
    return 2


class Engine:
    def __init__(self, inst: Instance, time_limit: float | None = None):
        self.inst = inst
        self.t0 = time.perf_counter()
        self.deadline = None if time_limit is None else self.t0 + time_limit
        self.net = Network(inst)
        net = self.net
        needs = [inst.needs[i] for i in net.live]
        self.lneeds = needs
        wmax = max((Fraction(n.weight, n.open) for n in needs), default=Fraction(1))
        self.scale = k = max(1, int(_COST_LIMIT / ((net.stats["nodes"] + 1) * 8 * (wmax + 1))))
        self.K = 8 * k
        self.tb = [_tiebreak(n, inst.as_of) for n in needs]
        self.cost = [8 * ((2 * k * n.weight + n.open) // (2 * n.open)) + t
                     for n, t in zip(needs, self.tb, strict=True)]
        # state
        self.budget = [s.budget for s in inst.sources]
        self.res_open = [n.open for n in needs]
        self.whole_done = [False] * len(needs)
        self.pair: dict[tuple[int, int], int] = defaultdict(int)
        self.phase: dict[tuple[int, int], str] = {}
        self.ben_used: dict[tuple[int, str], int] = defaultdict(int)
        self.upper_bound = 0.0
        self.rounds = 0

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline

    def _flow(self, include: list[bool]) -> dict[tuple[int, int], int]:
        flows = self.net.solve(self.budget, self.res_open, include, self.pair,
                               self.ben_used, self.cost)
        if self.rounds == 0:
            self._set_upper_bound(flows)
        self.rounds += 1
        return self.net.decompose(flows)

    def _set_upper_bound(self, flows) -> None:
        ns = self.net.need_sink_start
        f = flows[ns:ns + self.net.NL].tolist()
        total = sum(c * x for c, x in zip(self.cost, f, strict=True))
        slack = 0
        for n, c in zip(self.lneeds, self.cost, strict=True):
            slack += max(0, self.K * n.weight - c * n.open)
        self.upper_bound = float(Fraction(total + slack, self.K))

    def _grant(self, si: int, j: int, amt: int, phase: str) -> None:
        n = self.lneeds[j]
        self.pair[(si, j)] += amt
        self.phase.setdefault((si, j), phase)
        self.budget[si] -= amt
        self.res_open[j] -= amt
        if n.beneficiary is not None:
            self.ben_used[(si, n.beneficiary)] += amt
        if n.whole:
            self.whole_done[j] = True

    def _commit(self, grants: dict[tuple[int, int], int], phase: str) -> int:
        by_need: dict[int, list[tuple[int, int]]] = defaultdict(list)
        for (si, j), a in grants.items():
            by_need[j].append((si, a))
        kept = 0
        for j in sorted(by_need):
            lst = by_need[j]
            if self.lneeds[j].whole:
                if len(lst) == 1 and lst[0][1] == self.res_open[j] and not self.whole_done[j]:
                    self._grant(lst[0][0], j, lst[0][1], phase)
                    kept += 1
            else:
                for si, a in sorted(lst):
                    self._grant(si, j, a, phase)
        return kept

    def _repack(self) -> None:
        inst = self.inst
        index = el.SourceIndex(inst.sources)
        todo = [j for j, n in enumerate(self.lneeds) if n.whole and not self.whole_done[j]]
        todo.sort(key=lambda j: (-Fraction(self.lneeds[j].weight, self.lneeds[j].open),
                                 -self.tb[j], j))
        for j in todo:
            n = self.lneeds[j]
            best = None
            for si in index.candidates(n):
                b = self.budget[si]
                if b < n.open or (best is not None and b >= self.budget[best]):
                    continue
                s = inst.sources[si]
                if not el.pair_ok(s, n):
                    continue
                cap = el.beneficiary_cap(s, n)
                if cap is not None and self.ben_used[(si, n.beneficiary)] + n.open > cap:
                    continue
                best = si
            if best is not None:
                self._grant(best, j, n.open, "repack")

    def run(self) -> None:
        nl = len(self.lneeds)
        if nl and any(self.budget):
            include = [True] * nl
            self._commit(self._flow(include), "flow")
            while self.rounds < MAX_ROUNDS and not self._out_of_time():
                include = [r > 0 and not (n.whole and self.whole_done[j])
                           for j, (n, r) in enumerate(zip(self.lneeds, self.res_open, strict=True))]
                if not any(inc and n.whole for inc, n in zip(include, self.lneeds, strict=True)):
                    break
                if self._commit(self._flow(include), "flow") == 0:
                    break
            self._repack()
            include = [r > 0 and not n.whole
                       for n, r in zip(self.lneeds, self.res_open, strict=True)]
            if any(include) and any(self.budget) and not self._out_of_time():
                self._commit(self._flow(include), "final")


def solve_instance(inst: Instance, time_limit: float | None = None) -> Engine:
    eng = Engine(inst, time_limit)
    eng.run()
    return eng
