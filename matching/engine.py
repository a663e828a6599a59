"""The allocation engine: LP relaxation by min-cost flow, whole-need repair, re-packing.

1. The first flow solves the linear relaxation (every need divisible) on
   :class:`graph.Network`.  On an exact network its value is ``upper_bound``; when the
   network keeps only a selection of the binding pairs (large instances), the flow is a
   feasible solution and the bound comes from a relaxed network, solved meanwhile on the
   second core (:mod:`background`).
2. The flow is decomposed into (source, need) grants; a whole need is kept only when one
   source funds all of it; every other grant of the flow is kept as it is (each arc of the
   network is exact, so no grant breaks a cap).
3. Split whole needs are re-packed, most valuable per fen first, into the tightest single
   leftover budget that can take them whole; what is left is spent greedily, most valuable
   need per fen first, under every rule.
4. When that repair gives back more than ``REPAIR_TOLERANCE`` of the flow's value (small
   instances, where one whole need weighs more), a second repair is tried and the better kept:
   the split whole needs are placed first (on the source that gives up the least, by the
   first flow's marginal values), then a second flow re-spreads the divisible needs.

Tiny instances are solved exactly instead (:meth:`Engine._exact_small`).  With a deadline,
refinement stops when it passes; :mod:`deadline` runs the whole engine in a child process that
can be killed, with :meth:`Engine.fallback` (no flow) as the answer if nothing better arrives.

Costs: every cost sits on a need's arc to the sink, so the feasible vectors of amounts per
need form a polymatroid (Megiddo's lexicographically optimal multi-sink flows): the LP optimum
is the greedy vector for the order of value per fen, whatever the values themselves are.  The
flow therefore uses the *rank* of (value per fen, earlier deadline) as its integer unit cost —
a small cost range that OR-Tools' cost scaling handles fast and without rounding — and the
relaxation's optimum, hence ``upper_bound``, is exact: Σ w·x over the first flow.  Because
every need has a positive rank, the optimum also spends as much as possible (strands least).
"""

from __future__ import annotations

import itertools
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

from . import background
from . import eligibility as el
from .graph import Network
from .model import Instance
from .regions import prefixes

INF = math.inf

REPAIR_TOLERANCE = 3e-4  # a repair giving back more than this share of the flow tries again
EXACT_LIMIT = 64  # whole-need assignments tried exhaustively on tiny instances


def _tiebreak(n, as_of) -> int:
    if n.deadline is None:
        return 1
    days = (n.deadline - as_of).days
    for t, lim in ((7, 7), (6, 30), (5, 90), (4, 180), (3, 365)):
        if days <= lim:
            return t
    return 2


@dataclass
class Outcome:
    """What an engine run produced: grants by (source index, live-need index)."""
    live: list[int]  # live-need index -> index in inst.needs
    pair: dict[tuple[int, int], int]
    phase: dict[tuple[int, int], str]
    upper_bound: float
    rounds: int
    graph: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)  # seconds per phase (not in the result: it
    # would make the same input give different output)


def quick_bound(lneeds: list, total_budget: int) -> float:
    """A valid upper bound without any flow: the whole budget poured into the needs with the
    highest value per fen, ignoring who may fund what (a relaxation of every rule)."""
    left, out = total_budget, []
    for n in sorted(lneeds, key=lambda n: -n.weight / n.open):
        if left <= 0:
            break
        x = min(left, n.open)
        out.append(n.weight * x / n.open)
        left -= x
    return math.fsum(out)


class Engine:
    def __init__(self, inst: Instance, deadline: float | None = None,
                 quick_ub: float | None = None):
        """``deadline``: a ``time.perf_counter()`` instant after which refinement stops;
        ``quick_ub``: :func:`quick_bound` when the caller has it already."""
        self.inst = inst
        self.deadline = deadline
        self.quick_ub = quick_ub
        self.live = [i for i, n in enumerate(inst.needs) if el.is_live(n, inst.as_of)]
        needs = [inst.needs[i] for i in self.live]
        self.lneeds = needs
        self.tb = [_tiebreak(n, inst.as_of) for n in needs]
        keys = [(n.weight / n.open, t) for n, t in zip(needs, self.tb, strict=True)]
        order = sorted(range(len(needs)), key=keys.__getitem__)
        self.cost = [0] * len(needs)
        rank, prev = 0, None
        for j in order:
            if keys[j] != prev:
                rank, prev = rank + 1, keys[j]
            self.cost[j] = rank
        self.order = order[::-1]  # most valuable per fen first
        self.net: Network | None = None
        # state
        self.budget = [s.budget for s in inst.sources]
        self.res_open = [n.open for n in needs]
        self.whole_done = [False] * len(needs)
        self.pair: dict[tuple[int, int], int] = defaultdict(int)
        self.phase: dict[tuple[int, int], str] = {}
        self.ben_used: dict[tuple[int, str], int] = defaultdict(int)
        self.upper_bound = 0.0
        self.bound_exact = False  # True once upper_bound is the LP optimum (or a flow bound)
        self.rounds = 0
        self.timings: dict[str, float] = {}  # seconds per phase, for stats and profiling

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline

    def _flow(self, include: list[bool]) -> dict[tuple[int, int], int]:
        flows = self.net.solve(self.budget, self.res_open, include, self.pair,
                               self.ben_used, self.cost)
        if self.rounds == 0:
            self.first_value = self._flow_value(self.net, flows)
            if not self.net.restricted:
                self.upper_bound = self.first_value  # the exact LP optimum
                self.bound_exact = True
        self.rounds += 1
        return self.net.decompose(flows)

    def _flow_value(self, net: Network, flows) -> float:
        f = net.need_flows(flows)
        return math.fsum(n.weight * x / n.open for n, x in zip(self.lneeds, f, strict=True) if x)

    def relaxed_bound(self) -> float:
        """The first flow used only a selection of the binding pairs (a feasible solution, not
        the LP optimum): the bound is the flow on the relaxed network (caps summed)."""
        net = Network(self.inst, rank=self.cost, mode="relaxed")
        flows = net.solve([s.budget for s in self.inst.sources], [n.open for n in self.lneeds],
                          [True] * len(self.lneeds), {}, {}, self.cost)
        return self._flow_value(net, flows)

    def outcome(self) -> Outcome:
        if self.bound_exact:
            ub = self.upper_bound
        else:
            if self.quick_ub is None:
                self.quick_ub = quick_bound(self.lneeds, sum(s.budget for s in self.inst.sources))
            ub = self.quick_ub
        graph = dict(self.net.stats) if self.net is not None else {"network": "not built"}
        return Outcome(self.live, dict(self.pair), dict(self.phase), ub, self.rounds, graph,
                       dict(self.timings))

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

    def _room(self, si: int, j: int) -> int:
        """The most source si may still give live need j under every rule."""
        s, n = self.inst.sources[si], self.lneeds[j]
        room = min(self.res_open[j], self.budget[si],
                   el.grant_limit(s, n) - self.pair.get((si, j), 0))
        bc = el.beneficiary_cap(s, n)
        if bc is not None:
            room = min(room, bc - self.ben_used.get((si, n.beneficiary), 0))
        return room

    def _commit(self, grants: dict[tuple[int, int], int], phase: str,
                with_divisible: bool = True) -> int:
        """Keep what the rules allow: a whole need only when one source funds all of it.
        (The network is exact on every arc it has, so divisible grants need no clipping.)"""
        whole = self.net.whole
        res_open = self.res_open
        wholes: dict[int, list[tuple[int, int]]] = defaultdict(list)
        divisible = []
        for (si, j), a in grants.items():
            if whole[j]:
                wholes[j].append((si, a))
            else:
                divisible.append((j, si, a))
        kept = 0
        for j in sorted(wholes):
            lst = wholes[j]
            if len(lst) == 1 and lst[0][1] == res_open[j] and not self.whole_done[j]:
                self._grant(lst[0][0], j, lst[0][1], phase)
                kept += 1
        if not with_divisible:
            return kept
        divisible.sort()
        lneeds = self.lneeds
        budget, pair, ben_used, phases = self.budget, self.pair, self.ben_used, self.phase
        for j, si, a in divisible:  # inlined _grant: this loop sees every grant
            n = lneeds[j]
            key = (si, j)
            pair[key] += a
            if key not in phases:
                phases[key] = phase
            budget[si] -= a
            res_open[j] -= a
            if n.beneficiary is not None:
                ben_used[(si, n.beneficiary)] += a
        return kept

    def _greedy(self, wholes_only: bool, phase: str) -> None:
        """Most valuable per fen first: a whole need goes to the tightest single leftover
        budget that can take it; a divisible need takes what leftover budgets allow."""
        inst = self.inst
        live_src = [si for si, b in enumerate(self.budget) if b > 0]
        if not live_src:
            return
        index = el.SourceIndex([inst.sources[si] for si in live_src])
        for step, j in enumerate(self.order):
            if step % 4096 == 4095 and self._out_of_time():
                break
            n = self.lneeds[j]
            if self.res_open[j] <= 0 or (wholes_only and not n.whole):
                continue
            if n.whole:
                if self.whole_done[j]:
                    continue
                best = None
                for k in index.candidates(n):
                    si = live_src[k]
                    b = self.budget[si]
                    if b < n.open or (best is not None and b >= self.budget[best]):
                        continue
                    if el.pair_ok(inst.sources[si], n) and self._room(si, j) == n.open:
                        best = si
                if best is not None:
                    self._grant(best, j, n.open, phase)
            else:
                for k in index.candidates(n):
                    si = live_src[k]
                    if self.budget[si] > 0 and el.pair_ok(inst.sources[si], n):
                        a = self._room(si, j)
                        if a > 0:
                            self._grant(si, j, a, phase)
                            if self.res_open[j] == 0:
                                break

    def _exact_small(self) -> bool:
        """Tiny instances: try every assignment of whole needs to single sources, each with
        the optimal flow for the divisible rest.  Returns False when the search is too big."""
        inst, whole = self.inst, self.net.whole
        wj = [j for j in range(len(self.lneeds)) if whole[j]]
        options = []
        combos = 1
        for j in wj:
            n = self.lneeds[j]
            opts = [None] + [si for si, s in enumerate(inst.sources)
                             if s.budget >= n.open and el.pair_ok(s, n)]
            options.append(opts)
            combos *= len(opts)
            if combos > EXACT_LIMIT:
                return False
        div = [not w and r > 0 for w, r in zip(whole, self.res_open, strict=True)]
        best = None
        for pick in itertools.product(*options):
            if best is not None and self._out_of_time():
                break
            budget = list(self.budget)
            ben: dict[tuple[int, str], int] = defaultdict(int)
            ok, value = True, []
            for j, si in zip(wj, pick, strict=True):
                if si is None:
                    continue
                n = self.lneeds[j]
                budget[si] -= n.open
                cap = el.beneficiary_cap(inst.sources[si], n)
                if n.beneficiary is not None:
                    ben[(si, n.beneficiary)] += n.open
                if budget[si] < 0 or (cap is not None and ben[(si, n.beneficiary)] > cap):
                    ok = False
                    break
                value.append(float(n.weight))
            if not ok:
                continue
            grants: dict[tuple[int, int], int] = {}
            if any(div) and any(b > 0 for b in budget):
                flows = self.net.solve(budget, self.res_open, div, {}, ben, self.cost)
                grants = dict(self.net.decompose(flows))
            for (_si, j), a in grants.items():
                n = self.lneeds[j]
                value.append(n.weight * a / n.open)
            score = (math.fsum(value), -sum(budget) + sum(a for a in grants.values()))
            if best is None or score[0] > best[0][0] * (1 + 1e-12) + 1e-12 or (
                    abs(score[0] - best[0][0]) <= 1e-12 * max(1.0, score[0])
                    and score[1] > best[0][1]):
                best = (score, pick, grants)
        if best is None:
            return True
        _score, pick, grants = best
        for j, si in zip(wj, pick, strict=True):
            if si is not None:
                self._grant(si, j, self.lneeds[j].open, "exact")
        for (si, j), a in sorted(grants.items()):
            self._grant(si, j, a, "exact")
        return True

    def _prices(self, grants: dict[tuple[int, int], int]) -> list[float]:
        """Each source's marginal value per fen in the first flow: that of the least valuable
        need it funds, or 0 when budget was left over (an LP dual price, read off the flow)."""
        spent = [0] * len(self.budget)
        price = [math.inf] * len(self.budget)
        for (si, j), a in grants.items():
            spent[si] += a
            n = self.lneeds[j]
            price[si] = min(price[si], n.weight / n.open)
        return [0.0 if spent[si] < b else p for si, (p, b) in enumerate(zip(price, self.budget,
                                                                             strict=True))]

    def _repack_priced(self, split: list[int], price: list[float]) -> None:
        """Whole needs the first flow split: each goes whole to the eligible source that gives
        up the least (lowest price, then tightest budget), if it is worth more per fen than
        what that source funded; the second flow then re-spreads divisible needs around it."""
        inst = self.inst
        index = el.SourceIndex(inst.sources)
        for j in sorted(split, key=lambda j: -self.cost[j]):
            n = self.lneeds[j]
            v = n.weight / n.open
            best = None
            for si in index.candidates(n):
                if price[si] >= v or self.budget[si] < n.open:
                    continue
                if best is not None and (price[si], self.budget[si]) >= (price[best],
                                                                        self.budget[best]):
                    continue
                if el.pair_ok(inst.sources[si], n) and self._room(si, j) == n.open:
                    best = si
            if best is not None:
                self._grant(best, j, n.open, "repack")

    def _lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.timings[phase] = round(self.timings.get(phase, 0.0) + now - self._t, 4)
        self._t = now

    def run(self, report=None) -> None:
        """Flow, repair, bound.  ``report(outcome)``, when given, receives the result as soon
        as it is complete but for the bound (which may take a flow of its own)."""
        nl = len(self.lneeds)
        self._t = time.perf_counter()
        if nl and any(self.budget):
            self.net = Network(self.inst, rank=self.cost)
            self._lap("network")
            # the bound needs a flow of its own on another network: on the second core
            job = background.start(self.relaxed_bound) if self.net.restricted else None
            include = [True] * nl
            grants = self._flow(include)
            self._lap("first_flow")
            if not self._exact_small():
                self._repair(grants)
            self._lap("repair")
            if self.net.restricted:
                if report is not None:
                    report(self.outcome())
                ub = None
                if job is not None:
                    ub = job.result(self.deadline)
                elif not self._out_of_time():
                    ub = self.relaxed_bound()
                if ub is not None:
                    self.upper_bound, self.bound_exact = ub, True
                self._lap("bound")
        else:
            self.bound_exact = True  # nothing can be allocated: the bound is 0

    def _value(self) -> float:
        return math.fsum(n.weight * (n.open - r) / n.open
                         for n, r in zip(self.lneeds, self.res_open, strict=True) if r < n.open)

    def _state(self) -> tuple:
        return (list(self.budget), list(self.res_open), list(self.whole_done), dict(self.pair),
                dict(self.phase), dict(self.ben_used), self.rounds)

    def _restore(self, state: tuple) -> None:
        budget, res_open, whole_done, pair, phase, ben_used, rounds = state
        self.budget, self.res_open, self.whole_done = list(budget), list(res_open), list(whole_done)
        self.pair = defaultdict(int, pair)
        self.phase, self.ben_used = dict(phase), defaultdict(int, ben_used)
        self.rounds = rounds

    def _repair(self, grants: dict[tuple[int, int], int]) -> None:
        """Whole needs are kept when the flow single-sourced them; the split ones are re-packed
        into leftover budgets.  When that gives back more than ``REPAIR_TOLERANCE`` of the
        flow's value (small instances, where each whole need weighs more), a second repair is
        tried and the better one kept: split whole needs placed first, priced by the first
        flow, then a second flow for the divisible needs around them."""
        whole = self.net.whole
        got: dict[int, int] = defaultdict(int)
        for (_si, j), a in grants.items():
            if whole[j]:
                got[j] += a
        self._commit(grants, "flow", with_divisible=False)
        split = [j for j in got if not self.whole_done[j]]
        before = self._state()
        self._commit({k: a for k, a in grants.items() if not whole[k[1]]}, "flow")
        self._greedy(wholes_only=True, phase="repack")
        self._greedy(wholes_only=False, phase="leftover")
        first = self._value()
        if first >= (1 - REPAIR_TOLERANCE) * self.first_value or not split \
                or self._out_of_time():
            return
        after = self._state()
        self._restore(before)
        self._repack_priced(split, self._prices(grants))
        include = [not w and r > 0 for w, r in zip(whole, self.res_open, strict=True)]
        self._commit(self._flow(include), "flow")
        self._greedy(wholes_only=True, phase="repack")
        self._greedy(wholes_only=False, phase="leftover")
        if self._value() < first:
            self._restore(after)

    def fallback(self) -> None:
        """No flow at all, fast: most valuable need per fen first, each taking from the first
        sources in reach that may still fund it (whole needs from one source), under every
        rule.  Used as the answer when a time limit leaves no room for the network."""
        inst, budget, res_open = self.inst, self.budget, self.res_open
        buckets: dict[tuple, list[int]] = defaultdict(list)
        for si, s in enumerate(inst.sources):
            if budget[si] > 0:
                for c in s.categories or (None,):
                    for k in s.need_kinds or (None,):
                        for p in s.regions or ((),):
                            buckets[(c, k, p)].append(si)
        # a whole need skips, without computing its room, the sources whose caps cannot take
        # it (with wide reach, one bucket can hold thousands of sources)
        grant_cap = [INF if s.per_grant_cap is None else s.per_grant_cap for s in inst.sources]
        ben_cap = [INF if s.per_beneficiary_cap is None else s.per_beneficiary_cap
                   for s in inst.sources]
        for step, j in enumerate(self.order):
            if step % 32 == 31 and self._out_of_time():
                break
            n = self.lneeds[j]
            need = n.open
            whole, hasben = n.whole, n.beneficiary is not None
            for p in prefixes(n.region):
                for key in ((n.category, n.kind, p), (n.category, None, p),
                            (None, n.kind, p), (None, None, p)):
                    lst = buckets.get(key)
                    if not lst:
                        continue
                    spent = 0
                    for si in lst:
                        b = budget[si]
                        if b <= 0:
                            spent += 1
                            continue
                        if whole and (b < need or grant_cap[si] < need
                                      or (hasben and ben_cap[si] < need)):
                            continue
                        # the bucket matched category, kind and region; _room has every
                        # amount rule, so a whole need fits exactly when room == open
                        room = self._room(si, j)
                        if n.whole and room < n.open:
                            continue
                        if room > 0:
                            self._grant(si, j, room, "leftover")
                            if res_open[j] <= 0:
                                break
                    if spent * 4 > len(lst):  # drop spent sources so later scans stay short
                        buckets[key] = [si for si in lst if budget[si] > 0]
                    if res_open[j] <= 0:
                        break
                if res_open[j] <= 0:
                    break


def solve_instance(inst: Instance, deadline: float | None = None) -> Outcome:
    eng = Engine(inst, deadline)
    eng.run()
    return eng.outcome()
