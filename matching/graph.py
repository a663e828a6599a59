"""A flow network for the linear relaxation whose size grows linearly with the instance.

Instead of one arc per eligible (source, need) pair, eligibility is routed through shared
structure:

    source ─► entry (shared by sources with identical reach)
           ─► chain (class, prefix, level ℓ) ─► chain (class, prefix, ℓ-1) ─► …
           ─► tree (class, band ℓ, prefix) ─► tree (class, band ℓ, child prefix) ─► … ─► need ─► sink

* a *class* is (category, need kind, has-beneficiary);
* a need's *key* is its open amount, or for a need with a beneficiary the beneficiary's total
  open over all live needs; *bands* cut keys at the distinct caps T = min(per_grant_cap,
  per_beneficiary_cap) of the sources using the class (at most ``MAX_BANDS`` cuts);
* a source with cap T enters the chain at the highest level ℓ with cut[ℓ] ≤ T, so the tree
  only ever delivers it to needs whose key ≤ T: there no cap can bind, whole needs fit in one
  grant, and beneficiary totals cannot exceed the cap.

Pairs where a per-pair bound *does* bind (key above the source's level, or any source with a
配捐 ``match_ratio``) get private arcs with the exact bound as capacity, grouped through a
(source, beneficiary) node carrying ``per_beneficiary_cap``.  The network is therefore an
exact model of the LP in which whole needs are divisible but still only eligible for sources
that could fund them entirely; the private arcs are the only part that can grow faster than
linearly, and only with the number of capped sources × needs above their caps in reach.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict

import numpy as np
from ortools.graph.python import min_cost_flow

from . import eligibility as el
from .model import Instance
from .regions import minimal_cover, prefixes

MAX_BANDS = 12
INF = float("inf")

# node roles (for decomposition order)
_ENTRY, _CHAIN, _TREE, _BEN = 1, 2, 3, 4


class FlowError(RuntimeError):
    pass


class Network:
    """Static structure for one instance; :meth:`solve` is called once per engine round."""

    def __init__(self, inst: Instance):
        self.inst = inst
        needs, sources = inst.needs, inst.sources
        self.live = [i for i, n in enumerate(needs) if el.is_live(n, inst.as_of)]
        S, NL = len(sources), len(self.live)
        self.S, self.NL = S, NL
        self.sink = S + NL
        self._next = S + NL + 1
        self.role: list[int] = []  # role of node id >= first_extra
        self.rank: list[int] = []
        self.first_extra = self._next

        # ---- keys, classes, bands
        ben_total: dict[str, int] = defaultdict(int)
        for i in self.live:
            n = needs[i]
            if n.beneficiary is not None:
                ben_total[n.beneficiary] += n.open
        classes: dict[tuple, int] = {}
        ncls, key = [], []
        for i in self.live:
            n = needs[i]
            c = (n.category, n.kind, n.beneficiary is not None)
            ncls.append(classes.setdefault(c, len(classes)))
            key.append(ben_total[n.beneficiary] if n.beneficiary is not None else n.open)
        self.classes = list(classes)

        def allowed(s) -> list[int]:
            return [
                cid for (cat, kind, _hb), cid in classes.items()
                if (not s.categories or cat in s.categories)
                and (not s.need_kinds or kind in s.need_kinds)
            ]

        def threshold(s, cid) -> float:
            t = INF if s.per_grant_cap is None else s.per_grant_cap
            if self.classes[cid][2] and s.per_beneficiary_cap is not None:
                t = min(t, s.per_beneficiary_cap)
            return t

        src_classes = [allowed(s) if s.budget > 0 else [] for s in sources]
        src_scope = [minimal_cover(list(s.regions)) for s in sources]
        cuts_all: dict[int, set] = defaultdict(set)
        for si, s in enumerate(sources):
            if s.match_ratio is None:
                for cid in src_classes[si]:
                    t = threshold(s, cid)
                    if t != INF:
                        cuts_all[cid].add(t)
        cuts: dict[int, list[int]] = {}
        for cid in range(len(self.classes)):
            ts = sorted(cuts_all.get(cid, ()))
            if len(ts) > MAX_BANDS:
                ts = sorted({ts[round(k * (len(ts) - 1) / (MAX_BANDS - 1))] for k in range(MAX_BANDS)})
            cuts[cid] = ts
        band = [bisect_left(cuts[ncls[j]], key[j]) for j in range(NL)]

        tails: list[int] = []
        heads: list[int] = []
        self.tails, self.heads = tails, heads

        # ---- trees: (cid, band, prefix) -> node, parent arcs, need attachment
        tree: dict[tuple, int] = {}
        need_arc = [0] * NL
        for j, i in enumerate(self.live):
            n = needs[i]
            parent = -1
            for p in prefixes(n.region):
                k = (ncls[j], band[j], p)
                node = tree.get(k)
                if node is None:
                    node = tree[k] = self._node(_TREE, 100 + len(p))
                    if parent >= 0:
                        tails.append(parent)
                        heads.append(node)
                parent = node
            tails.append(parent)
            heads.append(self.S + j)
        n_tree_arcs = len(tails)

        # ---- sources: entry signatures, chains and private pairs
        chain: dict[tuple, int] = {}
        entry: dict[tuple, int] = {}
        self.src_entry_arc = [-1] * S
        need_index: dict[tuple, list[int]] = {}
        funded_index: dict[tuple, list[int]] = {}
        want_idx: set[tuple] = set()
        want_fidx: set[tuple] = set()
        plans = []
        for si, s in enumerate(sources):
            sig, priv = [], []
            for cid in src_classes[si]:
                for p in src_scope[si]:
                    if s.match_ratio is not None:
                        priv.append((cid, p, -2))
                        want_fidx.add((cid, p))
                        continue
                    t = threshold(s, cid)
                    lvl = len(cuts[cid]) if t == INF else bisect_right(cuts[cid], t) - 1
                    if lvl >= 0:
                        sig.append(self._chain(chain, tree, cid, p, lvl))
                    if lvl < len(cuts[cid]):
                        priv.append((cid, p, lvl))
                        want_idx.add((cid, p))
            plans.append((sig, priv))
        if want_idx or want_fidx:
            for j, i in enumerate(self.live):
                n = needs[i]
                for p in prefixes(n.region):
                    k = (ncls[j], p)
                    if k in want_idx:
                        need_index.setdefault(k, []).append(j)
                    if k in want_fidx and n.funded > 0:
                        funded_index.setdefault(k, []).append(j)
            for lst in need_index.values():
                lst.sort(key=lambda j: -band[j])

        self.entry_arcs_start = len(tails)
        for si, (sig, _priv) in enumerate(plans):
            if not sig:
                continue
            sk = tuple(sorted(set(sig)))
            e = entry.get(sk)
            if e is None:
                e = entry[sk] = self._node(_ENTRY, 0)
                for c in sk:
                    tails.append(e)
                    heads.append(c)
            self.src_entry_arc[si] = len(tails)
            tails.append(si)
            heads.append(e)
        n_struct = len(tails)

        # private pairs: (arc, source, need j, static cap, ben node or -1)
        self.priv: list[tuple[int, int, int, int, int]] = []
        self.ben_nodes: list[tuple[int, int, str, int]] = []  # (arc s->b, s, ben, cap)
        for si, (_sig, priv) in enumerate(plans):
            s = sources[si]
            bnode: dict[str, int] = {}
            for cid, p, lvl in priv:
                lst = funded_index.get((cid, p), []) if lvl == -2 else need_index.get((cid, p), [])
                for j in lst:
                    if lvl >= 0 and band[j] <= lvl:
                        break
                    n = needs[self.live[j]]
                    if not el.pair_ok(s, n):
                        continue
                    cap = el.grant_limit(s, n)
                    tail = si
                    if s.per_beneficiary_cap is not None and n.beneficiary is not None:
                        b = bnode.get(n.beneficiary)
                        if b is None:
                            b = bnode[n.beneficiary] = self._node(_BEN, 50)
                            self.ben_nodes.append((len(tails), si, n.beneficiary, b))
                            tails.append(si)
                            heads.append(b)
                        tail = b
                    self.priv.append((len(tails), si, j, cap, tail))
                    tails.append(tail)
                    heads.append(self.S + j)

        # need -> sink, source -> sink (money left unspent)
        self.need_sink_start = len(tails)
        for j in range(NL):
            tails.append(self.S + j)
            heads.append(self.sink)
        self.bypass_start = len(tails)
        for si in range(S):
            tails.append(si)
            heads.append(self.sink)
        self.n_arcs = len(tails)
        self.n_tree_arcs, self.n_struct = n_tree_arcs, n_struct
        self.need_arc = need_arc
        self.stats = {
            "nodes": self._next, "arcs": self.n_arcs, "private_arcs": len(self.priv),
            "tree_nodes": len(tree), "chain_nodes": len(chain), "entry_nodes": len(entry),
        }
        self.np_tails = np.asarray(tails, dtype=np.int32)
        self.np_heads = np.asarray(heads, dtype=np.int32)
        self.whole = [needs[i].whole for i in self.live]

    # -------------------------------------------------------------- helpers
    def _node(self, role: int, rank: int) -> int:
        nid = self._next
        self._next += 1
        self.role.append(role)
        self.rank.append(rank)
        return nid

    def _chain(self, chain: dict, tree: dict, cid: int, p: tuple, lvl: int) -> int:
        top = chain.get((cid, p, lvl))
        if top is not None:
            return top
        below = None
        for ell in range(lvl + 1):
            node = chain.get((cid, p, ell))
            if node is None:
                node = chain[(cid, p, ell)] = self._node(_CHAIN, 50 - ell)
                if below is not None:
                    self.tails.append(node)
                    self.heads.append(below)
                t = tree.get((cid, ell, p))
                if t is not None:
                    self.tails.append(node)
                    self.heads.append(t)
            below = node
        return chain[(cid, p, lvl)]

    # -------------------------------------------------------------- solving
    def solve(self, budget: list[int], res_open: list[int], include: list[bool],
              pair_used: dict, ben_used: dict, costs_need: list[int]) -> np.ndarray:
        """Min-cost flow on residual data; returns the flow on every arc."""
        big = max(1, sum(budget))
        cap = np.full(self.n_arcs, big, dtype=np.int64)
        cost = np.zeros(self.n_arcs, dtype=np.int64)
        for si in range(self.S):
            if self.src_entry_arc[si] >= 0:
                cap[self.src_entry_arc[si]] = budget[si]
            cap[self.bypass_start + si] = budget[si]
        for arc, si, b, _node in self.ben_nodes:
            c = self.inst.sources[si].per_beneficiary_cap
            cap[arc] = max(0, c - ben_used.get((si, b), 0))
        for arc, si, j, pcap, _tail in self.priv:
            ok = include[j] and res_open[j] > 0
            cap[arc] = max(0, min(pcap - pair_used.get((si, j), 0), res_open[j])) if ok else 0
        ns = self.need_sink_start
        cap[ns:ns + self.NL] = [r if inc else 0 for r, inc in zip(res_open, include, strict=True)]
        cost[ns:ns + self.NL] = [-c for c in costs_need]
        smcf = min_cost_flow.SimpleMinCostFlow()
        smcf.add_arcs_with_capacity_and_unit_cost(self.np_tails, self.np_heads, cap, cost)
        supplies = np.zeros(self._next, dtype=np.int64)
        supplies[: self.S] = budget
        supplies[self.sink] = -sum(budget)
        smcf.set_nodes_supplies(np.arange(self._next, dtype=np.int32), supplies)
        status = smcf.solve()
        if status != smcf.OPTIMAL:
            raise FlowError(f"min-cost flow failed: {status}")
        return smcf.flows(np.arange(self.n_arcs, dtype=np.int32))

    # -------------------------------------------------------------- decomposition
    def decompose(self, flows: np.ndarray) -> dict[tuple[int, int], int]:
        """Split arc flows into (source, live-need) amounts, keeping whole needs single-sourced
        where the flow allows (best fit of source fragments at every shared node)."""
        S, NL = self.S, self.NL
        out: dict[tuple[int, int], int] = defaultdict(int)
        for arc, si, j, _cap, _tail in self.priv:
            f = int(flows[arc])
            if f:
                out[(si, j)] += f
        frags: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        outs: dict[int, list[tuple[int, int]]] = defaultdict(list)
        ent = self.entry_arcs_start
        nz = np.nonzero(flows[: self.n_struct])[0]
        for arc in nz.tolist():
            t, h, f = self.tails[arc], self.heads[arc], int(flows[arc])
            if arc >= ent and t < S:  # source -> entry
                frags[h][t] += f
            else:
                outs[t].append((h, f))
        first = self.first_extra
        order = sorted(outs, key=lambda u: (self.rank[u - first], u))
        for u in order:
            fr = frags.pop(u, None)
            if not fr:
                continue
            items = sorted((a, s) for s, a in fr.items())
            amts = [a for a, _ in items]
            srcs = [s for _, s in items]
            arcs = outs[u]
            arcs.sort(key=lambda hf: (
                not (S <= hf[0] < S + NL and self.whole[hf[0] - S]), -hf[1], hf[0]))
            for h, f in arcs:
                is_need = S <= h < S + NL
                k = bisect_left(amts, f)
                if k < len(amts):
                    a, s = amts.pop(k), srcs.pop(k)
                    pieces = [(s, f)]
                    if a > f:
                        q = bisect_left(amts, a - f)
                        amts.insert(q, a - f)
                        srcs.insert(q, s)
                else:
                    pieces = []
                    while f > 0:
                        a, s = amts.pop(), srcs.pop()
                        g = min(a, f)
                        pieces.append((s, g))
                        f -= g
                        if a > g:
                            q = bisect_left(amts, a - g)
                            amts.insert(q, a - g)
                            srcs.insert(q, s)
                for s, g in pieces:
                    if is_need:
                        out[(s, h - S)] += g
                    else:
                        frags[h][s] += g
        return out
