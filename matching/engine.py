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

State is kept in numpy columns over live needs (index j) and sources (index si); only the
greedy passes, which touch few needs and sources, walk them one by one.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from . import background
from .graph import Network
from .model import Instance
from .tables import Tables

REPAIR_TOLERANCE = 3e-4  # a repair giving back more than this share of the flow tries again
EXACT_LIMIT = 64  # whole-need assignments tried exhaustively on tiny instances ...
EXACT_NEEDS = 200  # ... of at most this many live needs
UNSPLIT_TRIES = 2  # sources tried as the single source of a whole need the flow split
PHASES = ("flow", "repack", "leftover", "exact")  # phase codes of Outcome.phase
FLOW, REPACK, LEFTOVER, EXACT = range(4)
I64 = np.int64


def _tiebreak(deadline: np.ndarray, as_of: int) -> np.ndarray:
    """Among needs of equal value per fen, the earlier deadline ranks higher (7 = a week)."""
    days = deadline.astype(I64) - as_of
    out = np.full(len(days), 2, dtype=I64)
    for t, lim in ((3, 365), (4, 180), (5, 90), (6, 30), (7, 7)):
        out[days <= lim] = t
    out[deadline == np.iinfo(np.int32).max] = 1
    return out


@dataclass
class Outcome:
    """What an engine run produced: one grant per (source, live need), sorted by need then
    source; ``live[j]`` is live need j's index in the instance."""
    live: np.ndarray
    si: np.ndarray
    j: np.ndarray
    amount: np.ndarray
    phase: np.ndarray  # codes into PHASES: how the pair was first funded
    upper_bound: float
    rounds: int
    graph: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)  # seconds per phase (not in the result: it
    # would make the same input give different output)

    def value(self, inst: Instance) -> float:
        c = inst.cols
        n = self.live[self.j]
        return math.fsum((c.weight[n] * self.amount.astype(float) / c.open[n]).tolist())


def quick_bound(weight: np.ndarray, open_: np.ndarray, total_budget: int) -> float:
    """A valid upper bound without any flow: the whole budget poured into the needs with the
    highest value per fen, ignoring who may fund what (a relaxation of every rule)."""
    if not len(open_) or total_budget <= 0:
        return 0.0
    o = np.argsort(-(weight / open_), kind="stable")
    op = open_[o]
    before = np.cumsum(op) - op
    x = np.clip(total_budget - before, 0, op)
    m = x > 0
    return math.fsum((weight[o][m] * x[m].astype(float) / op[m]).tolist())


class Engine:
    def __init__(self, inst: Instance, deadline: float | None = None,
                 quick_ub: float | None = None, tables: Tables | None = None):
        """``deadline``: a ``time.perf_counter()`` instant after which refinement stops;
        ``quick_ub``: :func:`quick_bound` when the caller has it already."""
        self.inst = inst
        self.deadline = deadline
        self.quick_ub = quick_ub
        self.tb = tb = tables if tables is not None else Tables(inst)
        c = inst.cols
        lv = np.flatnonzero(c.live(inst.as_of))
        self.live = lv
        NL = len(lv)
        self.NL = NL
        self.open = c.open[lv]
        self.weight = c.weight[lv]  # int64; value sums multiply it by floats (no overflow)
        self.whole = c.whole[lv]
        self.ben = c.ben[lv]
        self.value = self.weight / np.maximum(self.open, 1)
        tbk = _tiebreak(c.deadline[lv], inst.as_of.toordinal())
        asc = np.lexsort((tbk, self.value))  # stable: equal keys keep need order
        self.order = asc[::-1]  # most valuable per fen first
        new = np.ones(NL, dtype=bool)
        if NL > 1:
            vs, ts = self.value[asc], tbk[asc]
            new[1:] = (vs[1:] != vs[:-1]) | (ts[1:] != ts[:-1])
        self.cost = np.empty(NL, dtype=I64)
        self.cost[asc] = np.cumsum(new)
        self.pos = np.empty(NL, dtype=I64)
        self.pos[self.order] = np.arange(NL, dtype=I64)
        self.net: Network | None = None
        # state
        self.budget = tb.budget.copy()
        self.res_open = self.open.copy()
        self.whole_done = np.zeros(NL, dtype=bool)
        self._g: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self._gl: tuple[list, list, list, list] = ([], [], [], [])  # one by one (greedy)
        self.upper_bound = 0.0
        self.bound_exact = False  # True once upper_bound is the LP optimum (or a flow bound)
        self.rounds = 0
        self.first_value = 0.0
        self.timings: dict[str, float] = {}  # seconds per phase, for stats and profiling
        self._scalars = None

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.perf_counter() > self.deadline

    # -------------------------------------------------------------- grants
    def _grants(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every grant so far, one row per (source, need) (amounts summed, first phase)."""
        parts = list(self._g)
        if self._gl[0]:
            parts.append(tuple(np.asarray(x, dtype=I64) for x in self._gl))
        if not parts:
            z = np.zeros(0, dtype=I64)
            return z, z, z, z
        si = np.concatenate([p[0] for p in parts])
        j = np.concatenate([p[1] for p in parts])
        a = np.concatenate([p[2] for p in parts])
        ph = np.concatenate([p[3] for p in parts])
        key = j * max(self.tb.S, 1) + si
        o = np.argsort(key, kind="stable")
        key, a, ph = key[o], a[o], ph[o]
        u, first = np.unique(key, return_index=True)
        amt = np.add.reduceat(a, first) if len(first) else a
        return u % max(self.tb.S, 1), u // max(self.tb.S, 1), amt, ph[first]

    def _add(self, si: np.ndarray, j: np.ndarray, a: np.ndarray, phase: int) -> None:
        """Record grants (vectorised; pairs may repeat) and update budgets and open amounts."""
        if not len(si):
            return
        self._g.append((si, j, a, np.full(len(si), phase, dtype=I64)))
        np.subtract.at(self.budget, si, a)
        np.subtract.at(self.res_open, j, a)
        self.whole_done[j[self.whole[j]]] = True
        self._scalars = None

    def _commit(self, si: np.ndarray, j: np.ndarray, a: np.ndarray, phase: int,
                with_divisible: bool = True) -> None:
        """Keep what the rules allow: a whole need only when one source funds all of it.
        (The network is exact on every arc it has, so divisible grants need no clipping.)"""
        w = self.whole[j]
        wj = j[w]
        if len(wj):
            u, cnt = np.unique(wj, return_counts=True)
            single = u[cnt == 1]
            rows = np.flatnonzero(w)
            rows = rows[np.isin(wj, single)]
            jj = j[rows]
            rows = rows[(a[rows] == self.res_open[jj]) & ~self.whole_done[jj]]
            self._add(si[rows], j[rows], a[rows], phase)
        if with_divisible:
            d = ~w
            self._add(si[d], j[d], a[d], phase)

    def _aggregate(self, si, j, a):
        """Sum repeated (source, need) rows."""
        if not len(si):
            return si, j, a
        key = j * max(self.tb.S, 1) + si
        u, inv = np.unique(key, return_inverse=True)
        tot = np.zeros(len(u), dtype=I64)
        np.add.at(tot, inv, a)
        return u % max(self.tb.S, 1), u // max(self.tb.S, 1), tot

    # -------------------------------------------------------------- flows
    def _used(self, net: Network) -> tuple[np.ndarray | None, np.ndarray | None]:
        """What earlier grants took from each private arc and each beneficiary arc."""
        si, j, a, _ph = self._grants()
        if not len(si):
            return None, None
        S = max(self.tb.S, 1)
        pair_used = _lookup_sum(net.priv_j * S + net.priv_si, j * S + si, a)  # keys sorted
        nb = len(self.inst.cols.ben_names) + 1
        b = self.ben[j]
        hb = b >= 0
        bk, inv = np.unique(si[hb] * nb + b[hb], return_inverse=True)
        bs = np.zeros(len(bk), dtype=I64)
        np.add.at(bs, inv, a[hb])
        ben_used = _lookup_sum(net.ben_si * nb + net.ben_b, bk, bs)
        return pair_used, ben_used

    def _flow(self, include: np.ndarray | None):
        pu = bu = None
        if self.rounds:
            pu, bu = self._used(self.net)
        flows = self.net.solve(self.budget, self.res_open, include, self.cost, pu, bu)
        if self.rounds == 0:
            self.first_value = self._flow_value(self.net, flows)
            if not self.net.restricted:
                self.upper_bound = self.first_value  # the exact LP optimum
                self.bound_exact = True
        self.rounds += 1
        return self._aggregate(*self.net.decompose(flows))

    def _flow_value(self, net: Network, flows) -> float:
        f = net.need_flows(flows)
        m = f > 0
        return math.fsum((self.weight[m] * f[m].astype(float) / self.open[m]).tolist())

    def relaxed_bound(self) -> float:
        """The first flow used only a selection of the binding pairs (a feasible solution, not
        the LP optimum): the bound is the flow on the relaxed network (caps summed)."""
        net = Network(self.inst, self.tb, mode="relaxed", live=self.live)
        flows = net.solve(self.tb.budget, self.open, None, self.cost)
        return self._flow_value(net, flows)

    def outcome(self) -> Outcome:
        if self.bound_exact:
            ub = self.upper_bound
        else:
            if self.quick_ub is None:
                self.quick_ub = quick_bound(self.weight, self.open, int(self.tb.budget.sum()))
            ub = self.quick_ub
        graph = dict(self.net.stats) if self.net is not None else {"network": "not built"}
        si, j, a, ph = self._grants()
        keep = a > 0
        return Outcome(self.live, si[keep], j[keep], a[keep], ph[keep], ub, self.rounds, graph,
                       dict(self.timings))

    # -------------------------------------------------------------- one by one
    def _sc(self):
        """Plain-list views for the passes that go need by need (numpy scalars are slow)."""
        if self._scalars is None:
            tb, c = self.tb, self.inst.cols
            lv = self.live
            self._scalars = {
                "open": self.open.tolist(), "whole": self.whole.tolist(),
                "ben": self.ben.tolist(), "funded": c.funded[lv].tolist(),
                "gcap": tb.gcap.tolist(), "bcap": tb.bcap.tolist(),
                "has_bcap": tb.has_bcap.tolist(), "ratio": tb.ratio,
            }
            si, j, a, _ph = self._grants()
            live_src = self.budget[si] > 0  # only sources with money left are looked up
            si, j, a = si[live_src], j[live_src], a[live_src]
            self._pair = defaultdict(int, zip(zip(si.tolist(), j.tolist(), strict=True),
                                              a.tolist(), strict=True))
            self._ben_used: dict[tuple[int, int], int] = defaultdict(int)
            b = self.ben[j]
            for s, bb, x in zip(si.tolist(), b.tolist(), a.tolist(), strict=True):
                if bb >= 0:
                    self._ben_used[(s, bb)] += x
            self._budget_l = self.budget.tolist()
            self._res_l = self.res_open.tolist()
        return self._scalars

    def _flush(self) -> None:
        """Write the one-by-one state back into the arrays."""
        if self._scalars is not None:
            self.budget = np.asarray(self._budget_l, dtype=I64)
            self.res_open = np.asarray(self._res_l, dtype=I64)

    def _grant1(self, si: int, j: int, amt: int, phase: int) -> None:
        sc = self._scalars
        gl = self._gl
        gl[0].append(si)
        gl[1].append(j)
        gl[2].append(amt)
        gl[3].append(phase)
        self._pair[(si, j)] += amt
        self._budget_l[si] -= amt
        self._res_l[j] -= amt
        b = sc["ben"][j]
        if b >= 0:
            self._ben_used[(si, b)] += amt
        if sc["whole"][j]:
            self.whole_done[j] = True

    def _limit1(self, si: int, j: int) -> tuple[int, int | None]:
        """(largest single grant, beneficiary cap or None) for one pair."""
        sc = self._scalars
        lim = min(sc["open"][j], sc["gcap"][si])
        r = sc["ratio"][si]
        if r is not None:
            lim = min(lim, r.numerator * sc["funded"][j] // r.denominator)
        bc = sc["bcap"][si] if sc["ben"][j] >= 0 and sc["has_bcap"][si] else None
        return lim, bc

    def _pair_ok1(self, si: int, j: int) -> bool:
        lim, bc = self._limit1(si, j)
        op = self._scalars["open"][j]
        if self._scalars["whole"][j]:
            return lim >= op and (bc is None or bc >= op)
        return lim > 0 and (bc is None or bc > 0)

    def _room1(self, si: int, j: int) -> int:
        """The most source si may still give live need j under every rule."""
        lim, bc = self._limit1(si, j)
        room = min(self._res_l[j], self._budget_l[si], lim - self._pair.get((si, j), 0))
        if bc is not None:
            room = min(room, bc - self._ben_used.get((si, self._scalars["ben"][j]), 0))
        return room

    def _candidates(self, live_src: list[int]):
        """Sources among ``live_src`` that accept need j's category, kind and region
        (sorted), cached per (category, kind, region)."""
        tb, c = self.tb, self.inst.cols
        idx: dict[tuple, list[int]] = defaultdict(list)
        live_set = set(live_src)
        ncat = tb.cat_ok.shape[1]
        for si, p in zip(tb.scope_src.tolist(), tb.scope_pref.tolist(), strict=True):
            if si not in live_set:
                continue
            cats = np.flatnonzero(tb.cat_ok[si]).tolist()
            kinds = np.flatnonzero(tb.kind_ok[si]).tolist()
            ck = [-1] if len(cats) == ncat else cats
            kk = [-1] if len(kinds) == tb.kind_ok.shape[1] else kinds
            for a in ck:
                for b in kk:
                    idx[(a, b, p)].append(si)
        lv = self.live
        cat = c.cat[lv].tolist()
        kind = c.kind[lv].tolist()
        region = c.region[lv].tolist()
        rp = tb.reg_pref
        cache: dict[tuple, list[int]] = {}

        def candidates(j: int) -> list[int]:
            k = (cat[j], kind[j], region[j])
            got = cache.get(k)
            if got is None:
                found: set[int] = set()
                for p in rp[k[2]].tolist():
                    if p < 0:
                        break
                    for a in (k[0], -1):
                        for b in (k[1], -1):
                            found.update(idx.get((a, b, p), ()))
                got = cache[k] = sorted(found)
            return got

        return candidates

    def _greedy(self, wholes_only: bool, phase: int) -> None:
        """Most valuable per fen first: a whole need goes to the tightest single leftover
        budget that can take it; a divisible need takes what leftover budgets allow."""
        live_src = np.flatnonzero(self.budget > 0).tolist()
        if not live_src:
            return
        todo = self.order[(self.res_open[self.order] > 0)]
        if wholes_only:
            todo = todo[self.whole[todo] & ~self.whole_done[todo]]
        if not len(todo):
            return
        sc = self._sc()
        candidates = self._candidates(live_src)
        budget, whole, opn = self._budget_l, sc["whole"], sc["open"]
        res = self._res_l
        for step, j in enumerate(todo.tolist()):
            if step % 4096 == 4095 and self._out_of_time():
                break
            if res[j] <= 0:
                continue
            if whole[j]:
                if self.whole_done[j]:
                    continue
                op = opn[j]
                best = None
                for si in candidates(j):
                    b = budget[si]
                    if b < op or (best is not None and b >= budget[best]):
                        continue
                    if self._pair_ok1(si, j) and self._room1(si, j) == op:
                        best = si
                if best is not None:
                    self._grant1(best, j, op, phase)
            else:
                for si in candidates(j):
                    if budget[si] > 0 and self._pair_ok1(si, j):
                        a = self._room1(si, j)
                        if a > 0:
                            self._grant1(si, j, a, phase)
                            if res[j] == 0:
                                break
        self._flush()

    # -------------------------------------------------------------- tiny instances
    def _exact_small(self) -> bool:
        """Tiny instances: try every assignment of whole needs to single sources, each with
        the optimal flow for the divisible rest.  Returns False when the search is too big
        (more than ``EXACT_LIMIT`` assignments, or more than ``EXACT_NEEDS`` live needs)."""
        if self.NL > EXACT_NEEDS:
            return False
        wj = np.flatnonzero(self.whole).tolist()
        sc = self._sc()
        options = []
        combos = 1
        for j in wj:
            opts = [None] + [si for si in range(self.tb.S)
                             if int(self.tb.budget[si]) >= sc["open"][j]
                             and self._accepts1(si, j) and self._pair_ok1(si, j)]
            options.append(opts)
            combos *= len(opts)
            if combos > EXACT_LIMIT:
                return False
        div = ~self.whole & (self.res_open > 0)
        net = self.net
        best = None
        for pick in itertools.product(*options):
            if best is not None and self._out_of_time():
                break
            budget = self.budget.copy()
            ben: dict[tuple[int, int], int] = defaultdict(int)
            ok, value = True, []
            for j, si in zip(wj, pick, strict=True):
                if si is None:
                    continue
                op = sc["open"][j]
                budget[si] -= op
                b = sc["ben"][j]
                cap = sc["bcap"][si] if b >= 0 and sc["has_bcap"][si] else None
                if b >= 0:
                    ben[(si, b)] += op
                if budget[si] < 0 or (cap is not None and ben[(si, b)] > cap):
                    ok = False
                    break
                value.append(float(self.weight[j]))
            if not ok:
                continue
            z = np.zeros(0, dtype=I64)
            gsi, gj, ga = z, z, z
            if div.any() and (budget > 0).any():
                bu = np.asarray([ben.get((s, b), 0) for s, b in
                                 zip(net.ben_si.tolist(), net.ben_b.tolist(), strict=True)],
                                dtype=I64)
                flows = net.solve(budget, self.res_open, div, self.cost, None, bu)
                gsi, gj, ga = self._aggregate(*net.decompose(flows))
            value.extend((self.weight[gj] * ga.astype(float) / self.open[gj]).tolist())
            score = (math.fsum(value), -int(budget.sum()) + int(ga.sum()))
            if best is None or score[0] > best[0][0] * (1 + 1e-12) + 1e-12 or (
                    abs(score[0] - best[0][0]) <= 1e-12 * max(1.0, score[0])
                    and score[1] > best[0][1]):
                best = (score, pick, (gsi, gj, ga))
        if best is None:
            return True
        _score, pick, (gsi, gj, ga) = best
        rows = [(si, j) for j, si in zip(wj, pick, strict=True) if si is not None]
        if rows:
            js = np.asarray([j for _si, j in rows], dtype=I64)
            self._add(np.asarray([si for si, _j in rows], dtype=I64), js, self.open[js], EXACT)
        self._add(gsi, gj, ga, EXACT)
        return True

    def _accepts1(self, si: int, j: int) -> bool:
        return bool(self.tb.accepts(np.asarray([si]), np.asarray([int(self.live[j])]))[0])

    # -------------------------------------------------------------- second repair
    def _prices(self, si, j, a) -> np.ndarray:
        """Each source's marginal value per fen in the first flow: that of the least valuable
        need it funds, or 0 when budget was left over (an LP dual price, read off the flow)."""
        S = self.tb.S
        spent = np.zeros(S, dtype=I64)
        np.add.at(spent, si, a)
        price = np.full(S, np.inf)
        np.minimum.at(price, si, self.value[j])
        return np.where(spent < self.budget, 0.0, price)

    def _repack_priced(self, split: list[int], price: np.ndarray) -> None:
        """Whole needs the first flow split: each goes whole to the eligible source that gives
        up the least (lowest price, then tightest budget), if it is worth more per fen than
        what that source funded; the second flow then re-spreads divisible needs around it."""
        sc = self._sc()
        candidates = self._candidates(list(range(self.tb.S)))
        pr = price.tolist()
        budget = self._budget_l
        for j in sorted(split, key=lambda j: -int(self.cost[j])):
            op = sc["open"][j]
            v = float(self.value[j])
            best = None
            for si in candidates(j):
                if pr[si] >= v or budget[si] < op:
                    continue
                if best is not None and (pr[si], budget[si]) >= (pr[best], budget[best]):
                    continue
                if self._pair_ok1(si, j) and self._room1(si, j) == op:
                    best = si
            if best is not None:
                self._grant1(best, j, op, REPACK)
        self._flush()

    def _lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.timings[phase] = round(self.timings.get(phase, 0.0) + now - self._t, 4)
        self._t = now

    def run(self, report=None) -> None:
        """Flow, repair, bound.  ``report(outcome)``, when given, receives the result as soon
        as it is complete but for the bound (which may take a flow of its own).  With a
        ``report`` (a time-limited child, see :mod:`deadline`) the bound's flow comes after
        the report, not beside the engine's own work, so that the report comes sooner; the
        caller kills this process when it is too late."""
        self._t = time.perf_counter()
        if self.NL and self.budget.any():
            jobs = []  # the bound needs a flow of its own on another network: second core

            def start_bound() -> None:
                if report is None:
                    jobs.append(background.start(self.relaxed_bound))

            self.net = Network(self.inst, self.tb, self.pos, live=self.live,
                               on_restricted=start_bound)
            job = jobs[0] if jobs else None
            self._lap("network")
            grants = self._flow(None)
            self._lap("first_flow")
            if not self._exact_small():
                self._repair(*grants)
            self._lap("repair")
            if self.net.restricted:
                if report is not None:
                    report(self.outcome())
                ub = None
                if job is not None:
                    ub = job.result(self.deadline)
                elif report is not None or not self._out_of_time():
                    ub = self.relaxed_bound()
                if ub is not None:
                    self.upper_bound, self.bound_exact = ub, True
                self._lap("bound")
        else:
            self.bound_exact = True  # nothing can be allocated: the bound is 0

    def _value_of(self, si: np.ndarray, j: np.ndarray, a: np.ndarray) -> float:
        """The objective of grants (whole needs counted pro rata, as in the flow)."""
        tot = np.zeros(self.NL, dtype=I64)
        np.add.at(tot, j, a)
        m = tot > 0
        return math.fsum((self.weight[m] * tot[m].astype(float) / self.open[m]).tolist())

    def _value(self) -> float:
        m = self.res_open < self.open
        return math.fsum((self.weight[m] * (self.open[m] - self.res_open[m]).astype(float)
                          / self.open[m]).tolist())

    def _state(self) -> tuple:
        return (self.budget.copy(), self.res_open.copy(), self.whole_done.copy(),
                list(self._g), tuple(list(x) for x in self._gl), self.rounds)

    def _restore(self, state: tuple) -> None:
        budget, res_open, whole_done, g, gl, rounds = state
        self.budget, self.res_open = budget.copy(), res_open.copy()
        self.whole_done = whole_done.copy()
        self._g = list(g)
        self._gl = tuple(list(x) for x in gl)
        self.rounds = rounds
        self._scalars = None

    def _unsplit(self, si: np.ndarray, j: np.ndarray, a: np.ndarray):
        """Whole needs the flow spread over several sources, made single-sourced before the
        repair would drop them: one of its sources s* takes all of it, and each other source
        s_i takes over, from s*, grants worth what it gave: parts of s*'s divisible grants,
        or whole needs s* funds entirely, wherever s_i may fund them within its caps.  What
        s_i cannot take over, s* gives up from its least valuable divisible grants (and s_i
        keeps unspent), whole needs entirely.  Budgets and every other need's total are
        unchanged but for what is shed, and a plan is used only when that is worth less than
        the whole need it keeps."""
        w = self.whole[j]
        u, cnt = np.unique(j[w], return_counts=True)
        multi = u[cnt > 1]
        if not len(multi):
            return si, j, a
        multi = multi[np.argsort(self.pos[multi])]  # most valuable first
        st = _Swaps(self, si, j, a, multi)
        wrows = np.flatnonzero(w & np.isin(j, multi))
        wrows = wrows[np.argsort(j[wrows], kind="stable")]
        wj = j[wrows]
        for jj in multi.tolist():
            if self._out_of_time():
                break
            lo, hi = np.searchsorted(wj, jj), np.searchsorted(wj, jj, side="right")
            rows = wrows[lo:hi]
            rows = rows[np.argsort(-st.amt[rows], kind="stable")].tolist()
            for star in rows[:UNSPLIT_TRIES]:
                if st.try_whole(jj, star, rows):
                    break
        return st.result()

    def _repair(self, si, j, a) -> None:
        """Whole needs are kept when the flow single-sourced them; the split ones are re-packed
        into leftover budgets.  When that gives back more than ``REPAIR_TOLERANCE`` of the
        flow's value (small instances, where each whole need weighs more), a second repair is
        tried and the better one kept: split whole needs placed first, priced by the first
        flow, then a second flow for the divisible needs around them."""
        si, j, a = self._unsplit(si, j, a)
        w = self.whole[j]
        got = np.unique(j[w])
        self._commit(si, j, a, FLOW, with_divisible=False)
        split = got[~self.whole_done[got]].tolist()
        before = self._state()
        d = ~w
        self._add(si[d], j[d], a[d], FLOW)
        self._greedy(wholes_only=True, phase=REPACK)
        self._greedy(wholes_only=False, phase=LEFTOVER)
        first = self._value()
        if first >= (1 - REPAIR_TOLERANCE) * self.first_value or not split \
                or self._out_of_time():
            return
        after = self._state()
        self._restore(before)
        self._repack_priced(split, self._prices(si, j, a))
        include = ~self.whole & (self.res_open > 0)
        self._commit(*self._flow(include), FLOW)
        self._greedy(wholes_only=True, phase=REPACK)
        self._greedy(wholes_only=False, phase=LEFTOVER)
        if self._value() < first:
            self._restore(after)

    # -------------------------------------------------------------- no flow at all
    def fallback(self) -> None:
        """No flow at all, fast: most valuable need per fen first, each taking from the
        largest sources in reach that may still fund it (whole needs from one source), under
        every rule.  Used as the answer when a time limit leaves no room for the network."""
        live_src = np.flatnonzero(self.budget > 0).tolist()
        if not live_src or not self.NL:
            return
        sc = self._sc()
        tb, c = self.tb, self.inst.cols
        lv = self.live
        budget, res = self._budget_l, self._res_l
        opn, whole_l, ben_l = sc["open"], sc["whole"], sc["ben"]
        gcap, bcap = sc["gcap"], sc["bcap"]
        # Each bucket (category, kind, prefix) is a heap of its sources by the most one grant
        # of theirs can be now (budget and per-grant cap; a second heap adds the beneficiary
        # cap, for needs with one), kept lazily: budgets only shrink, so an entry is at least
        # the source's real size and is corrected when it reaches the top.  A whole need
        # looks at the largest source only, instead of scanning thousands of them per bucket
        # (at 10^6 needs that scan took minutes).
        fits = ([min(budget[si], gcap[si]) for si in range(len(budget))],
                [min(budget[si], gcap[si], bcap[si]) for si in range(len(budget))])
        caps = ([gcap[si] for si in range(len(budget))],
                [min(gcap[si], bcap[si]) for si in range(len(budget))])
        members: dict[tuple, list[int]] = defaultdict(list)
        live_set = set(live_src)
        ncat, nkind = tb.cat_ok.shape[1], tb.kind_ok.shape[1]
        for si, p in zip(tb.scope_src.tolist(), tb.scope_pref.tolist(), strict=True):
            if si not in live_set:
                continue
            cats = np.flatnonzero(tb.cat_ok[si]).tolist()
            kinds = np.flatnonzero(tb.kind_ok[si]).tolist()
            for a in ([-1] if len(cats) == ncat else cats):
                for b in ([-1] if len(kinds) == nkind else kinds):
                    members[(a, b, p)].append(si)
        heaps: dict[tuple, tuple[list, list]] = {}
        for k, v in members.items():
            h0, h1 = [(-fits[0][si], si) for si in v], [(-fits[1][si], si) for si in v]
            heapq.heapify(h0)
            heapq.heapify(h1)
            heaps[k] = (h0, h1)
        cat, kind, region = c.cat[lv].tolist(), c.kind[lv].tolist(), c.region[lv].tolist()
        rp = tb.reg_pref.tolist()
        held: list[tuple[int, int]] = []
        reach: dict[tuple[int, int, int], list] = {}  # (category, kind, region) -> buckets
        for step, j in enumerate(self.order.tolist()):
            if step % 32 == 31 and self._out_of_time():
                break
            need = opn[j]
            whole, v = whole_l[j], 1 if ben_l[j] >= 0 else 0
            cap = caps[v]
            rk = (cat[j], kind[j], region[j])
            mine = reach.get(rk)
            if mine is None:
                cj, kj = rk[0], rk[1]
                mine = reach[rk] = [
                    heaps[key] for p in rp[rk[2]] if p >= 0
                    for key in ((cj, kj, p), (cj, -1, p), (-1, kj, p), (-1, -1, p))
                    if key in heaps]
            for hp in mine:
                h = hp[v]
                tries = 0
                while h and tries < 16:
                    negf, si = h[0]
                    f = min(budget[si], cap[si])
                    if f <= 0:
                        heapq.heappop(h)
                        continue
                    if -negf != f:  # stale: the source has given since
                        heapq.heapreplace(h, (-f, si))
                        continue
                    if whole and f < need:
                        break  # no source of this bucket is large enough
                    # the bucket matched category, kind and region; _room1 has every
                    # amount rule, so a whole need fits exactly when room == open
                    room = self._room1(si, j)
                    if room > 0 and (not whole or room == need):
                        self._grant1(si, j, room, LEFTOVER)
                        if res[j] <= 0:
                            break
                    else:  # this pair is capped out: look at the next source
                        held.append(heapq.heappop(h))
                        tries += 1
                for x in held:
                    heapq.heappush(h, x)
                held.clear()
                if res[j] <= 0:
                    break
        self._flush()


class _Swaps:
    """Grants of the first flow being rearranged by :meth:`Engine._unsplit`."""

    def __init__(self, eng: Engine, si, j, a, multi):
        self.e = eng
        self.si, self.j, self.amt = si, j, a.copy()
        self.NL = max(eng.NL, 1)
        self.NB = len(eng.inst.cols.ben_names) + 1
        involved = np.unique(si[np.isin(j, multi)])
        rows = np.flatnonzero(np.isin(si, involved))
        self.row_of = dict(zip((si[rows] * self.NL + j[rows]).tolist(), rows.tolist(),
                               strict=True))
        self.new: dict[int, int] = defaultdict(int)  # source·NL + need -> amount added
        b = eng.ben[j[rows]]
        hb = b >= 0
        bk, inv = np.unique(si[rows][hb] * self.NB + b[hb], return_inverse=True)
        bs = np.zeros(len(bk), dtype=I64)
        np.add.at(bs, inv, a[rows][hb])
        self.ben_tot: dict[int, int] = defaultdict(int, zip(bk.tolist(), bs.tolist(),
                                                            strict=True))
        sc = eng._sc()
        self.ben, self.open, self.whole = sc["ben"], sc["open"], sc["whole"]
        self.by_src = np.argsort(si, kind="stable")
        self.src_sorted = si[self.by_src]

    def pair(self, s: int, k: int) -> int:
        key = s * self.NL + k
        r = self.row_of.get(key)
        return self.new.get(key, 0) + (0 if r is None else int(self.amt[r]))

    def _rows_of(self, s: int) -> np.ndarray:
        lo = np.searchsorted(self.src_sorted, s)
        hi = np.searchsorted(self.src_sorted, s, side="right")
        return self.by_src[lo:hi]

    def _room(self, s: int, k: int, lim: int, planned: dict) -> int:
        """How much more s may give k (grant ``lim`` and beneficiary caps), plans counted."""
        room = lim - self.pair(s, k) - planned.get(s * self.NL + k, 0)
        b = self.ben[k]
        if b >= 0 and self.e._scalars["has_bcap"][s]:
            bk = s * self.NB + b
            room = min(room, self.e._scalars["bcap"][s] - self.ben_tot[bk]
                       - planned.get(-1 - bk, 0))
        return room

    def try_whole(self, jj: int, star: int, rows: list[int]) -> bool:
        e, amt = self.e, self.amt
        s_star = int(self.si[star])
        extra = self.open[jj] - int(amt[star])
        if not e._pair_ok1(s_star, jj):
            return False
        _lim, bc = e._limit1(s_star, jj)
        bj = self.ben[jj]
        if bc is not None and self.ben_tot[s_star * self.NB + bj] + extra > bc:
            return False
        mine = self._rows_of(s_star)
        mine = mine[(amt[mine] > 0) & (self.j[mine] != jj)]
        mj = self.j[mine]
        div = mine[~e.whole[mj]]
        div = div[np.argsort(-amt[div], kind="stable")]
        full = mine[e.whole[mj] & (amt[mine] == e.open[mj])]
        full = full[np.argsort(-amt[full], kind="stable")]
        taken: dict[int, int] = defaultdict(int)  # row of s* -> planned decrease
        planned: dict = defaultdict(int)  # s·NL+k (pair), -1-(s·NB+ben) -> planned increase
        moves: list[tuple[int, int, int, int]] = []  # (s_i, k, row of s*, x)
        # what the flow left open of the whole need, s* must free as well
        shed_total, loss = self.open[jj] - sum(int(amt[r]) for r in rows), 0.0
        for other in rows:
            if other == star:
                continue
            s_i, need = int(self.si[other]), int(amt[other])
            for cand, is_whole in ((div, False), (full, True)):
                if not need or not len(cand):
                    continue
                if is_whole:  # a whole need moves entirely: only those that fit
                    cand = cand[amt[cand] <= need]
                sv = np.full(len(cand), s_i, dtype=I64)
                kg = e.live[self.j[cand]]
                lim, ok = e.tb.pair_limit(sv, kg)
                ok &= e.tb.accepts(sv, kg)
                for r, lm in zip(cand[ok].tolist(), lim[ok].tolist(), strict=True):
                    k = int(self.j[r])
                    left = int(amt[r]) - taken[r]
                    if left <= 0:
                        continue
                    x = min(left, self._room(s_i, k, lm, planned), need)
                    if x <= 0 or (is_whole and x != left):
                        continue
                    moves.append((s_i, k, r, x))
                    taken[r] += x
                    planned[s_i * self.NL + k] += x
                    if self.ben[k] >= 0:
                        planned[-1 - (s_i * self.NB + self.ben[k])] += x
                    need -= x
                    if not need:
                        break
            shed_total += need
        if shed_total:  # s* gives up its least valuable grants (a whole one entirely)
            pool = np.concatenate([div, full])
            for r in pool[np.argsort(e.value[self.j[pool]], kind="stable")].tolist():
                left = int(amt[r]) - taken[r]
                k = int(self.j[r])
                if left <= 0 or (self.whole[k] and taken[r]):
                    continue
                x = left if self.whole[k] else min(left, shed_total)
                moves.append((-1, k, r, x))
                taken[r] += x
                loss += float(e.weight[k]) if self.whole[k] else x * float(e.value[k])
                shed_total -= min(x, shed_total)
                if not shed_total or loss >= float(e.weight[jj]):
                    break
            if shed_total or loss >= float(e.weight[jj]):
                return False
        NL, NB = self.NL, self.NB
        for s_i, k, r, x in moves:
            amt[r] -= x
            b = self.ben[k]
            if b >= 0:
                self.ben_tot[s_star * NB + b] -= x
            if s_i >= 0:
                key = s_i * NL + k
                if key in self.row_of:
                    amt[self.row_of[key]] += x
                else:
                    self.new[key] += x
                if b >= 0:
                    self.ben_tot[s_i * NB + b] += x
        for other in rows:
            if other != star:
                if bj >= 0:
                    self.ben_tot[int(self.si[other]) * NB + bj] -= int(amt[other])
                amt[other] = 0
        amt[star] = self.open[jj]
        if bj >= 0:
            self.ben_tot[s_star * NB + bj] += extra
        return True

    def result(self):
        si, j, amt = self.si, self.j, self.amt
        if self.new:
            keys = np.asarray(list(self.new), dtype=I64)
            si = np.concatenate([si, keys // self.NL])
            j = np.concatenate([j, keys % self.NL])
            amt = np.concatenate([amt, np.asarray(list(self.new.values()), dtype=I64)])
        keep = amt > 0
        return self.e._aggregate(si[keep], j[keep], amt[keep])


def _lookup_sum(keys: np.ndarray, sorted_keys: np.ndarray, sums: np.ndarray) -> np.ndarray:
    if not len(sorted_keys) or not len(keys):
        return np.zeros(len(keys), dtype=I64)
    p = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return np.where(sorted_keys[p] == keys, sums[p], 0)


def solve_instance(inst: Instance, deadline: float | None = None) -> Outcome:
    eng = Engine(inst, deadline)
    eng.run()
    return eng.outcome()

