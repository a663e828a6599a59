"""A flow network for the linear relaxation whose size grows linearly with the instance.

Instead of one arc per eligible (source, need) pair, eligibility is routed through shared
structure:

    source ─► entry (shared by sources with identical reach)
           ─► chain (class, prefix, level ℓ) ─► chain (class, prefix, ℓ') ─► …
           ─► tree (class, band ℓ, prefix) ─► tree (class, band ℓ, deeper prefix) ─► … ─► sink

The region trees are compressed to the prefixes where some source enters: a need hangs (by
its own arc to the sink, carrying its cost) from the deepest such prefix above it.

* a *class* is (category, need kind, has-beneficiary, whole);
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

Past ``PRIVATE_BUDGET`` private arcs per live need, only a *selection* is kept
(:meth:`Network._select_pairs`: each capped source's most valuable needs, spread so that no
need is offered far more than it can take).  Every arc is still exact, so the flow is a
feasible solution (measured within 0.02% of the exact network's on every bench family); the
bound then comes from a ``mode="relaxed"`` network, in which the caps of the sources at one
level (and the 配捐 limits) covering a need are summed on a "capped tree": a valid upper
bound, never decomposed into grants.

Everything per need or per pair is built with numpy over the instance's columns
(:class:`tables.Tables`); Python loops run only over sources, classes and tree nodes.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict

import numpy as np

from .tables import BIG, Tables

MAX_BANDS = 12
PRIVATE_BUDGET = 4  # private arcs per live need before only a selection of them is kept
PRIVATE_SLACK = 1000
ALPHA = 3  # selection: a source's kept caps add up to ALPHA × its budget ...
GAMMA = 3  # ... and stop being offered a need once GAMMA × its open amount is covered

I64, I32 = np.int64, np.int32
try:  # LEMON's network simplex; OR-Tools' cost scaling without it (same optimum, slower)
    import pylmcf  # noqa: F401
    SOLVER = "auto"
except ImportError:  # pragma: no cover - pylmcf is a dependency
    SOLVER = "ortools"
# Network simplex grows about quadratically here, cost scaling about linearly.  Measured
# (CPU seconds, LEMON / OR-Tools): 0.66 / 1.9 at 204k arcs (100k needs), 7.4 / 4.8 at 592k
# (300k needs), minutes / 21.6 at 1.9M (1M needs): LEMON up to this many arcs.
LEMON_MAX_ARCS = 400_000


class FlowError(RuntimeError):
    pass


def _expand(start: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For segments (start, length): (segment of each element, element index)."""
    length = np.asarray(length, dtype=I64)
    rep = np.repeat(np.arange(len(length), dtype=I64), length)
    first = np.cumsum(length) - length
    return rep, np.asarray(start, dtype=I64)[rep] + (np.arange(len(rep), dtype=I64) - first[rep])


def _isin_sorted(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    if not len(sorted_keys):
        return np.zeros(len(keys), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return sorted_keys[pos] == keys


def _lookup(keys: np.ndarray, sorted_keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """values[k] for each key found in sorted_keys, -1 for the others."""
    if not len(sorted_keys):
        return np.full(len(keys), -1, dtype=I64)
    pos = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return np.where(sorted_keys[pos] == keys, values[pos], -1)


class Network:
    """Static structure for one instance; :meth:`solve` is called once per engine round."""

    def __init__(self, inst, tables: Tables | None = None, pos: np.ndarray | None = None,
                 mode: str = "auto", live: np.ndarray | None = None, on_restricted=None):
        """``mode``: "exact" (every binding pair gets its private arc), "relaxed" (divisible
        caps summed on capped trees: a valid upper bound, not a feasible flow), or "auto"
        (exact while private arcs stay within the budget, else a selection of them).
        ``pos[j]``: live need j's place in the order of value per fen (0 = most valuable),
        used to select pairs; ``live``: indices of the live needs (default: computed);
        ``on_restricted()`` is called as soon as it is known that only a selection of the
        binding pairs will be kept (so that the bound's own flow can start meanwhile)."""
        self.inst = inst
        tb = tables if tables is not None else Tables(inst)
        self.tb = tb
        cols = inst.cols
        lv = np.flatnonzero(cols.live(inst.as_of)) if live is None else live
        self.live = lv
        S, NL, P = tb.S, len(lv), max(tb.P, 1)
        self.S, self.NL = S, NL
        self.sink = S
        self.relaxed = mode == "relaxed"
        relax = self.relaxed
        if pos is None:
            pos = np.arange(NL, dtype=I64)
        self.pos = np.asarray(pos, dtype=I64)

        L_open = cols.open[lv]
        L_funded = cols.funded[lv]
        L_whole = cols.whole[lv]
        L_ben = cols.ben[lv]
        L_region = cols.region[lv]
        hasben = L_ben >= 0
        self.whole = L_whole
        self.L_open = L_open

        # ---- classes (category, kind, has-beneficiary, whole)
        ckey = ((cols.cat[lv].astype(I64) * 4 + cols.kind[lv]) * 2 + hasben) * 2 + L_whole
        ukeys, ncls = np.unique(ckey, return_inverse=True)
        ncls = ncls.astype(I64)
        K = len(ukeys)
        c_cat, c_kind = ukeys // 16, (ukeys // 4) % 4
        c_hasben, c_whole = (ukeys // 2) % 2 == 1, ukeys % 2 == 1
        self.classes = [(int(a), int(b), bool(c), bool(d))
                        for a, b, c, d in zip(c_cat, c_kind, c_hasben, c_whole, strict=True)]

        # ---- keys and bands
        ben_total = np.zeros(len(cols.ben_names) + 1, dtype=I64)
        np.add.at(ben_total, L_ben[hasben], L_open[hasben])
        key = np.where(hasben, ben_total[L_ben], L_open)
        src_on = tb.budget > 0
        SC = tb.cat_ok[:, c_cat] & tb.kind_ok[:, c_kind] & src_on[:, None]  # S × K
        T = np.minimum(tb.gcap[:, None], np.where(c_hasben[None, :], tb.bcap[:, None], BIG))
        cuts: list[np.ndarray] = []
        for cid in range(K):
            m = SC[:, cid] & ~tb.has_ratio & (T[:, cid] < BIG)
            ts = np.unique(T[m, cid]).tolist()
            if len(ts) > MAX_BANDS:
                ts = sorted({ts[round(k * (len(ts) - 1) / (MAX_BANDS - 1))]
                             for k in range(MAX_BANDS)})
            cuts.append(np.asarray(ts, dtype=I64))
        ncut = np.asarray([len(c) for c in cuts], dtype=I64)
        NB = int(ncut.max(initial=0)) + 1  # bands 0..NB-1
        # relaxed: a need is banded by its own open amount, so beneficiary totals over
        # several needs are left to the caps summed below
        kk = L_open if relax else key
        band = np.zeros(NL, dtype=I64)
        order_c = np.argsort(ncls, kind="stable")
        bounds = np.searchsorted(ncls[order_c], np.arange(K + 1))
        for cid in range(K):
            idx = order_c[bounds[cid]:bounds[cid + 1]]
            band[idx] = np.searchsorted(cuts[cid], kk[idx], side="left")
        self.band = band

        # ---- plan rows: (source, class, scope prefix) for every class a source serves
        R = len(tb.scope_src)
        rr, rc = np.nonzero(SC[tb.scope_src]) if R else (np.zeros(0, I64), np.zeros(0, I64))
        r_si = tb.scope_src[rr]
        r_p = tb.scope_pref[rr]
        r_c = rc.astype(I64)
        r_ratio = tb.has_ratio[r_si]
        r_t = T[r_si, r_c]
        r_lvl = np.empty(len(r_si), dtype=I64)
        for cid in range(K):
            m = r_c == cid
            r_lvl[m] = np.where(r_t[m] == BIG, ncut[cid],
                                np.searchsorted(cuts[cid], r_t[m], side="right") - 1)
        r_lvl[r_ratio] = -2
        cut_at = np.full(len(r_si), -1, dtype=I64)  # cuts[cid][lvl] where it exists
        inside = (r_lvl >= 0) & (r_lvl < ncut[r_c])
        if inside.any():
            flat = np.concatenate(cuts + [np.zeros(1, I64)])
            off = np.cumsum(ncut) - ncut
            cut_at[inside] = flat[off[r_c[inside]] + r_lvl[inside]]
        sig = ~r_ratio & (r_lvl >= 0)
        skip = (c_whole[r_c] & (relax | ~c_hasben[r_c]) & inside & (cut_at == r_t))
        under = ~r_ratio & ~skip & (r_lvl < ncut[r_c])
        if relax:
            cap_rows = r_ratio | (under & ~c_whole[r_c])
            priv_rows = under & c_whole[r_c]
        else:
            cap_rows = np.zeros(len(r_si), dtype=bool)
            priv_rows = r_ratio | under

        # ---- private pairs
        self.restricted = False
        pr = np.flatnonzero(priv_rows)
        pp_si = np.zeros(0, I64)
        pp_j = np.zeros(0, I64)
        pp_cap = np.zeros(0, I64)
        if len(pr):
            groups = _Groups(tb, ncls, band, L_region, L_funded, r_c[pr], r_p[pr], r_lvl[pr],
                             self.pos, NB)
            counts = groups.counts()
            if mode == "auto":
                self.restricted = int(counts.sum()) > PRIVATE_BUDGET * NL + PRIVATE_SLACK
                if self.restricted and on_restricted is not None:
                    on_restricted()
            if self.restricted:
                pp_si, pp_j, pp_cap = self._select_pairs(groups, r_si[pr], counts)
            else:
                rep, j = groups.expand_all(counts)
                si = r_si[pr][rep]
                gj = lv[j]
                cap, ok = tb.pair_limit(si, gj)
                pp_si, pp_j, pp_cap = si[ok], j[ok], cap[ok]
        # beneficiary group of a private pair, when that cap applies
        pb = cols.ben[lv[pp_j]]
        pp_ben = np.where(tb.has_bcap[pp_si] & (pb >= 0), pb, -1)

        # ---- relaxed mode: capped trees per (class, level)
        cr = np.flatnonzero(cap_rows)
        cap_j = cap_lvl = cap_cap = np.zeros(0, I64)
        cap_entry = (np.zeros(0, I64),) * 4
        if len(cr):
            cap_j, cap_lvl, cap_cap = self._capped(cr, r_si, r_c, r_p, r_lvl, r_t, ncls, band,
                                                   L_region, L_funded, L_open, L_whole, P)
            cap_entry = (r_si[cr], r_c[cr], r_p[cr], r_lvl[cr])

        # ---- nodes: sources 0..S-1, sink S, then need nodes, trees, chains, entries, bens
        nxt = S + 1
        ranks: list[np.ndarray] = [np.zeros(S + 1, dtype=I32)]
        need_node = np.full(NL, -1, dtype=I64)
        has_node = np.zeros(NL, dtype=bool)
        has_node[pp_j] = True
        has_node[cap_j] = True
        nn = np.flatnonzero(has_node)
        need_node[nn] = nxt + np.arange(len(nn))
        nxt += len(nn)
        ranks.append(np.full(len(nn), 200, dtype=I32))

        tails: list[np.ndarray] = []
        heads: list[np.ndarray] = []

        # ---- trees: attachments (need, tree family, ep group)
        W = NB + 3  # tree slots per class: bands 0..NB-1, capped levels -2, 0..NB-2 after
        band_ep = np.unique(r_c[sig] * P + r_p[sig])  # (class, prefix) where sources enter
        eg_cap = K + r_c[cr] * W + (cap_entry[3] + 2)
        cap_ep = np.unique(eg_cap * P + r_p[cr]) if len(cr) else np.zeros(0, I64)
        ep_keys = np.union1d(band_ep, cap_ep)
        cls_has_ep = np.zeros(K, dtype=bool)
        cls_has_ep[band_ep // P] = True
        bj = np.flatnonzero(cls_has_ep[ncls])
        att_j = np.concatenate([bj, cap_j])
        att_tf = np.concatenate([ncls[bj] * (2 * W) + band[bj],
                                 ncls[cap_j] * (2 * W) + W + cap_lvl + 2])
        att_eg = np.concatenate([ncls[bj], K + ncls[cap_j] * W + cap_lvl + 2])
        att_hang = self._hang(att_eg, L_region[att_j], ep_keys, tb)
        ok = att_hang >= 0
        att_j, att_tf, att_eg, att_hang = att_j[ok], att_tf[ok], att_eg[ok], att_hang[ok]
        n_cap_att = int(np.count_nonzero(ok[len(bj):]))
        is_cap_att = np.zeros(len(att_j), dtype=bool)
        is_cap_att[len(att_j) - n_cap_att:] = True
        cap_cap = cap_cap[ok[len(bj):]]
        cap_jj = att_j[is_cap_att]

        # tree nodes: hang points and their ancestors in the same ep group
        tf_eg = {}
        for tf, eg in zip(att_tf.tolist(), att_eg.tolist(), strict=True):
            tf_eg[tf] = eg
        start = np.unique(att_tf * P + att_hang)
        nodes_k = start
        frontier = start
        edges_p: list[np.ndarray] = []
        edges_c: list[np.ndarray] = []
        tf_eg_keys = np.asarray(sorted(tf_eg), dtype=I64)
        tf_eg_vals = np.asarray([tf_eg[k] for k in tf_eg_keys.tolist()], dtype=I64)
        while len(frontier):
            ftf, fp = frontier // P, frontier % P
            feg = _lookup(ftf, tf_eg_keys, tf_eg_vals)
            par = self._ep_parent(feg, fp, ep_keys, tb)
            has = par >= 0
            pk = ftf[has] * P + par[has]
            edges_p.append(pk)
            edges_c.append(frontier[has])
            new = np.setdiff1d(np.unique(pk), nodes_k, assume_unique=True)
            nodes_k = np.union1d(nodes_k, new)
            frontier = new
        tree_keys = nodes_k  # sorted (tree family, prefix)
        tree_ids = nxt + np.arange(len(tree_keys), dtype=I64)
        nxt += len(tree_keys)
        ranks.append((100 + tb.pref_depth[tree_keys % P]).astype(I32) if len(tree_keys)
                     else np.zeros(0, I32))
        ep_, ec_ = (np.concatenate(edges_p), np.concatenate(edges_c)) if edges_p else (
            np.zeros(0, I64), np.zeros(0, I64))
        tails.append(_lookup(ep_, tree_keys, tree_ids))
        heads.append(_lookup(ec_, tree_keys, tree_ids))
        # hang arcs: tree node -> need node (private arcs too) or the sink
        n_arcs = sum(len(t) for t in tails)
        hang_tail = _lookup(att_tf * P + att_hang, tree_keys, tree_ids)
        hang_head = np.where(need_node[att_j] >= 0, need_node[att_j], self.sink)
        hang_arc = n_arcs + np.arange(len(att_j), dtype=I64)
        tails.append(hang_tail)
        heads.append(hang_head)
        n_arcs += len(att_j)
        self.arc_need_lo = int(hang_arc[0]) if len(hang_arc) else n_arcs
        self.arc_need_j = att_j  # the need of hang arc arc_need_lo + k
        self.cost_arc = np.full(NL, -1, dtype=I64)
        band_att = ~is_cap_att
        nb_att = band_att & (need_node[att_j] < 0)
        self.cost_arc[att_j[nb_att]] = hang_arc[nb_att]
        self.cap_arc = hang_arc[is_cap_att]
        self.cap_need = cap_jj
        self.cap_cap = cap_cap

        # ---- chains over the band levels present at each (class, prefix) entered
        sig_c, sig_p, sig_l, sig_si = r_c[sig], r_p[sig], r_lvl[sig], r_si[sig]
        cp_keys, cp_inv = np.unique(sig_c * P + sig_p, return_inverse=True)
        n_chain = 0
        top_table = np.full((len(cp_keys), NB + 1), -1, dtype=I64)
        ct_tails, ct_heads, ct_rank = [], [], []
        if len(cp_keys):
            cc, cpp = cp_keys // P, cp_keys % P
            present = np.full((len(cp_keys), NB), -1, dtype=I64)
            for b in range(NB):
                present[:, b] = _lookup((cc * (2 * W) + b) * P + cpp, tree_keys, tree_ids)
            maxl = np.full(len(cp_keys), -1, dtype=I64)
            np.maximum.at(maxl, cp_inv, sig_l)
            for k, row in enumerate(present.tolist()):
                below = -1
                lim = int(maxl[k])
                for b, t in enumerate(row):
                    if b > lim:
                        break
                    if t >= 0:
                        if below < 0:
                            below = t
                        else:
                            node = nxt
                            nxt += 1
                            n_chain += 1
                            ct_tails += (node, node)
                            ct_heads += (below, t)
                            ct_rank.append(50 - b)
                            below = node
                    top_table[k, b] = below
            # a source at level ℓ reaches the chain node of the highest present level ≤ ℓ
        tails.append(np.asarray(ct_tails, dtype=I64))
        heads.append(np.asarray(ct_heads, dtype=I64))
        ranks.append(np.asarray(ct_rank, dtype=I32))
        n_arcs += len(ct_tails)
        lvl_cap = np.minimum(sig_l, NB)
        tops_si = [sig_si]
        tops_node = [top_table[cp_inv, lvl_cap] if len(cp_keys) else np.zeros(0, I64)]
        if len(cr):
            csi, cc_, cp_, cl_ = cap_entry
            tops_si.append(csi)
            tops_node.append(_lookup((cc_ * (2 * W) + W + cl_ + 2) * P + cp_, tree_keys,
                                     tree_ids))
        t_si = np.concatenate(tops_si)
        t_node = np.concatenate(tops_node)
        keep = t_node >= 0
        st = np.unique(t_si[keep] * (2**31) + t_node[keep])  # sorted by source, then node
        st_si, st_node = st // (2**31), st % (2**31)

        # ---- entries: sources with identical reach share one node
        entry: dict[tuple, int] = {}
        src_target = np.full(S, -1, dtype=I64)
        e_tails, e_heads = [], []
        if len(st):
            bounds = np.flatnonzero(np.diff(st_si)) + 1
            starts = np.concatenate([[0], bounds])
            ends = np.concatenate([bounds, [len(st)]])
            single = ends - starts == 1
            src_target[st_si[starts[single]]] = st_node[starts[single]]
            node_list = st_node.tolist()
            for a, b, si in zip(starts[~single].tolist(), ends[~single].tolist(),
                                st_si[starts[~single]].tolist(), strict=True):
                sk = tuple(node_list[a:b])
                e = entry.get(sk)
                if e is None:
                    e = entry[sk] = nxt
                    nxt += 1
                    e_tails += [e] * len(sk)
                    e_heads += sk
                src_target[si] = e
        tails.append(np.asarray(e_tails, dtype=I64))
        heads.append(np.asarray(e_heads, dtype=I64))
        ranks.append(np.zeros(len(entry), dtype=I32))
        n_arcs += len(e_tails)
        self.entry_arcs_start = n_arcs
        ent_src = np.flatnonzero(src_target >= 0)
        self.src_entry_arc = np.full(S, -1, dtype=I64)
        self.src_entry_arc[ent_src] = n_arcs + np.arange(len(ent_src))
        tails.append(ent_src.astype(I64))
        heads.append(src_target[ent_src])
        n_arcs += len(ent_src)
        self.n_struct = n_arcs

        # ---- private arcs, grouped per (source, beneficiary) when that cap applies
        hb = pp_ben >= 0
        bkey = pp_si * (len(cols.ben_names) + 1) + pp_ben
        ub, binv = np.unique(bkey[hb], return_inverse=True)
        b_si = ub // (len(cols.ben_names) + 1)
        b_ben = ub % (len(cols.ben_names) + 1)
        bnode = nxt + np.arange(len(ub), dtype=I64)
        nxt += len(ub)
        ranks.append(np.zeros(len(ub), dtype=I32))
        self.ben_arc = n_arcs + np.arange(len(ub), dtype=I64)
        self.ben_si, self.ben_b = b_si, b_ben
        tails.append(b_si)
        heads.append(bnode)
        n_arcs += len(ub)
        ptail = pp_si.copy()
        ptail[hb] = bnode[binv]
        self.priv_arc = n_arcs + np.arange(len(pp_si), dtype=I64)
        self.priv_si, self.priv_j, self.priv_cap = pp_si, pp_j, pp_cap
        tails.append(ptail)
        heads.append(need_node[pp_j])
        n_arcs += len(pp_si)
        self.cost_arc[nn] = n_arcs + np.arange(len(nn), dtype=I64)
        tails.append(need_node[nn])
        heads.append(np.full(len(nn), self.sink, dtype=I64))
        n_arcs += len(nn)

        self.n_arcs = n_arcs
        self.n_nodes = nxt
        self.np_tails = np.concatenate(tails).astype(I32)
        self.np_heads = np.concatenate(heads).astype(I32)
        self.node_rank = np.concatenate(ranks)
        self.stats = {
            "nodes": nxt, "arcs": n_arcs, "private_arcs": len(pp_si),
            "tree_nodes": len(tree_keys), "chain_nodes": n_chain, "entry_nodes": len(entry),
            "relaxed_divisible_caps": self.relaxed, "capped_arcs": len(self.cap_arc),
            "selected_private_arcs": self.restricted,
        }
        self._lemon = None  # arcs sorted for LEMON, made on first solve

    # -------------------------------------------------------------- trees
    @staticmethod
    def _hang(eg: np.ndarray, region: np.ndarray, ep_keys: np.ndarray, tb: Tables) -> np.ndarray:
        """Deepest prefix of each need's region where its ep group has an entry (-1: none)."""
        P = max(tb.P, 1)
        if not len(eg):
            return np.zeros(0, I64)
        combo, inv = np.unique(eg * len(tb.reg_pref) + region, return_inverse=True)
        ceg, creg = combo // len(tb.reg_pref), combo % len(tb.reg_pref)
        out = np.full(len(combo), -1, dtype=I64)
        for d in range(tb.D, -1, -1):
            p = tb.reg_pref[creg, d].astype(I64)
            hit = (out < 0) & (p >= 0) & _isin_sorted(ceg * P + p, ep_keys)
            out[hit] = p[hit]
        return out[inv]

    @staticmethod
    def _ep_parent(eg: np.ndarray, p: np.ndarray, ep_keys: np.ndarray,
                   tb: Tables) -> np.ndarray:
        """Nearest proper ancestor of prefix p in the same ep group (-1: none)."""
        P = max(tb.P, 1)
        out = np.full(len(p), -1, dtype=I64)
        dp = tb.pref_depth[p]
        for d in range(tb.D - 1, -1, -1):
            q = tb.pref_anc[p, d].astype(I64)
            hit = (out < 0) & (d < dp) & (q >= 0) & _isin_sorted(eg * P + q, ep_keys)
            out[hit] = q[hit]
        return out

    def _capped(self, cr, r_si, r_c, r_p, r_lvl, r_t, ncls, band, L_region, L_funded, L_open,
                L_whole, P):
        """Relaxed mode: each need's room from the capped sources covering it, per level:
        the sum of their caps (level ≥ 0, divisible needs above the level) or of their 配捐
        limits (level -2, needs with money raised).  Returns (need, level, room)."""
        tb = self.tb
        e_key = r_c[cr] * P + r_p[cr]
        e_lvl = r_lvl[cr]
        ratio = np.asarray([0.0 if tb.ratio[s] is None else float(tb.ratio[s])
                            for s in r_si[cr].tolist()])
        e_t = np.where(e_lvl == -2, 0, r_t[cr]).astype(I64)
        # group equal (key, level): sums of caps / of ratios
        gk = e_key * 64 + (e_lvl + 2)
        ug, ginv = np.unique(gk, return_inverse=True)
        # summed in floating point and clipped: thousands of caps near the ¥10^12 maximum
        # would pass int64 (beyond 2^53 the sum exceeds every open amount anyway)
        tsum_f = np.zeros(len(ug))
        np.add.at(tsum_f, ginv, e_t.astype(float))
        tsum = np.minimum(tsum_f, float(BIG)).astype(I64)
        rsum = np.zeros(len(ug))
        np.add.at(rsum, ginv, ratio)
        u_key, u_lvl = ug // 64, ug % 64 - 2
        NL = len(ncls)
        js, ls, vs = [], [], []
        for d in range(self.tb.D + 1):
            p = tb.reg_pref[L_region, d].astype(I64)
            nk = np.where(p >= 0, ncls * P + p, -1)
            lo = np.searchsorted(u_key, nk, side="left")
            hi = np.searchsorted(u_key, nk, side="right")
            rep, k = _expand(lo, hi - lo)
            if not len(rep):
                continue
            lvl = u_lvl[k]
            use = np.where(lvl == -2, L_funded[rep] > 0, (lvl >= 0) & (lvl < band[rep])
                           & ~L_whole[rep])
            rep, k, lvl = rep[use], k[use], lvl[use]
            # 配捐 room: ratio × funded, rounded up in floating point (this only bounds)
            room = np.where(lvl == -2,
                            np.minimum(np.ceil(rsum[k] * L_funded[rep] * (1 + 1e-12)),
                                       float(BIG)).astype(I64),
                            tsum[k])
            js.append(rep)
            ls.append(lvl)
            vs.append(room)
        if not js:
            return np.zeros(0, I64), np.zeros(0, I64), np.zeros(0, I64)
        j, lvl, room = np.concatenate(js), np.concatenate(ls), np.concatenate(vs)
        jl, inv = np.unique(j * 64 + lvl + 2, return_inverse=True)
        tot_f = np.zeros(len(jl))
        np.add.at(tot_f, inv, room.astype(float))
        tot = np.minimum(tot_f, float(BIG)).astype(I64)
        j, lvl = jl // 64, jl % 64 - 2
        keep = tot > 0
        j, lvl, tot = j[keep], lvl[keep], tot[keep]
        assert NL == len(L_open)
        return j, lvl, np.minimum(L_open[j], tot)

    # -------------------------------------------------------------- pair selection
    def _select_pairs(self, groups: _Groups, g_si: np.ndarray, counts: np.ndarray):
        """Too many binding pairs: keep, for each capped source, its best needs in priority
        order until its caps there add up to ``ALPHA`` × its budget, skipping needs whose
        selected caps already add up to ``GAMMA`` × their open amount.  Sources with the
        fewest candidates choose first (they have the least choice).  Every kept arc is exact,
        so the flow is feasible; a pair left out can still be used by the final greedy pass."""
        tb, lv, pos = self.tb, self.live, self.pos
        budget = tb.budget
        order = np.lexsort((np.arange(len(g_si)), g_si))
        g_sorted = g_si[order]
        bnd = np.flatnonzero(np.diff(g_sorted)) + 1
        starts = np.concatenate([[0], bnd]) if len(g_sorted) else np.zeros(0, I64)
        ends = np.concatenate([bnd, [len(g_sorted)]]) if len(g_sorted) else np.zeros(0, I64)
        size = np.add.reduceat(counts[order], starts) if len(starts) else np.zeros(0, I64)
        src = g_sorted[starts] if len(starts) else np.zeros(0, I64)
        live_src = budget[src] > 0
        streams = np.lexsort((src, size))
        cover = np.zeros(self.NL, dtype=I64)
        target = GAMMA * self.L_open
        out_si, out_j, out_cap = [], [], []
        front = groups.front
        for k in streams[live_src[streams]].tolist():
            si = int(src[k])
            mine = [groups.by_pos(int(g)) for g in order[starts[k]:ends[k]].tolist()]
            # start past the needs already covered at the front of each list (coverage only
            # grows, and the most valuable needs are covered first): at 10^6 needs, walking
            # them again for every source was most of the network's time
            lists = [arr[front.get(key, 0):] for key, arr in mine]
            lists = [x for x in lists if len(x)]
            reserve = ALPHA * int(budget[si])
            ptr = [0] * len(lists)
            m = 256
            while reserve > 0:
                parts, bound = [], None
                for g, p in zip(lists, ptr, strict=True):
                    if p < len(g):
                        chunk = g[p:p + m]
                        parts.append(chunk)
                        if p + m < len(g):  # the rest of g comes after its last one here
                            b = int(pos[chunk[-1]])
                            bound = b if bound is None else min(bound, b)
                if not parts:
                    break
                c = np.concatenate(parts) if len(parts) > 1 else parts[0]
                if len(parts) > 1:
                    c = c[np.argsort(pos[c], kind="stable")]
                if bound is not None:
                    c = c[pos[c] <= bound]
                for i, (g, p) in enumerate(zip(lists, ptr, strict=True)):
                    if p < len(g):
                        chunk = g[p:p + m]
                        ptr[i] = p + (len(chunk) if bound is None else int(
                            np.searchsorted(pos[chunk], bound, side="right")))
                c = c[cover[c] < target[c]]
                if not len(c):
                    m *= 4
                    continue
                si_arr = np.full(len(c), si, dtype=I64)
                cap, ok = tb.pair_limit(si_arr, lv[c])
                c, cap = c[ok], cap[ok]
                if len(c):
                    cum = np.cumsum(cap)
                    n = min(len(c), int(np.searchsorted(cum, reserve, side="left")) + 1)
                    c, cap = c[:n], cap[:n]
                    out_si.append(np.full(n, si, dtype=I64))
                    out_j.append(c)
                    out_cap.append(cap)
                    cover[c] += cap
                    reserve -= int(cum[n - 1])
                m *= 4
            for key, arr in mine:
                f = front.get(key, 0)
                while f < len(arr):
                    window = arr[f:f + 1024]
                    open_ = cover[window] < target[window]
                    if open_.any():
                        f += int(np.argmax(open_))
                        break
                    f += len(window)
                front[key] = f
        if not out_si:
            return np.zeros(0, I64), np.zeros(0, I64), np.zeros(0, I64)
        return np.concatenate(out_si), np.concatenate(out_j), np.concatenate(out_cap)

    # -------------------------------------------------------------- solving
    def solve(self, budget: np.ndarray, res_open: np.ndarray, include: np.ndarray | None,
              costs_need: np.ndarray, pair_used: np.ndarray | None = None,
              ben_used: np.ndarray | None = None) -> np.ndarray:
        """Min-cost flow on residual data; returns the flow on every arc.

        ``costs_need[j]`` is the (positive) value per fen of live need j; only its order
        matters for the optimum (see engine).  ``pair_used`` (per private arc) and
        ``ben_used`` (per beneficiary arc) are what earlier rounds gave."""
        bud = np.asarray(budget, dtype=I64)
        ro = np.asarray(res_open, dtype=I64)
        if include is not None:
            ro = np.where(include, ro, 0)
        big = max(1, int(bud.sum()))
        cap = np.full(self.n_arcs, big, dtype=I64)
        cost = np.zeros(self.n_arcs, dtype=I64)
        ent = self.src_entry_arc >= 0
        cap[self.src_entry_arc[ent]] = bud[ent]
        if len(self.ben_arc):
            bc = self.tb.bcap[self.ben_si]
            cap[self.ben_arc] = np.maximum(0, bc - (0 if ben_used is None else ben_used))
        if len(self.priv_arc):
            pc = self.priv_cap if pair_used is None else self.priv_cap - pair_used
            cap[self.priv_arc] = np.maximum(0, np.minimum(pc, ro[self.priv_j]))
        if len(self.cap_arc):
            cap[self.cap_arc] = np.minimum(self.cap_cap, ro[self.cap_need])
        has = self.cost_arc >= 0
        ca = self.cost_arc[has]
        cap[ca] = ro[has]
        cost[ca] = -np.asarray(costs_need, dtype=I64)[has]
        supplies = np.zeros(self.n_nodes, dtype=I64)
        supplies[: self.S] = bud
        supplies[self.sink] = -int(bud.sum())
        return min_cost_flow(self, cap, cost, supplies, bud)

    def need_flows(self, flows: np.ndarray) -> np.ndarray:
        """Total flow into each live need."""
        out = np.zeros(self.NL, dtype=I64)
        has = self.cost_arc >= 0
        out[has] = flows[self.cost_arc[has]]
        return out

    # -------------------------------------------------------------- decomposition
    def decompose(self, flows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Split arc flows into (source, live need, amount) grants, keeping whole needs
        single-sourced where the flow allows (best fit of source fragments at every shared
        node, most valuable arcs first).  Pairs may repeat; amounts are positive."""
        out_s: list[int] = []
        out_j: list[int] = []
        out_a: list[int] = []
        if len(self.priv_arc):
            f = flows[self.priv_arc]
            nz = f > 0
            ps, pj, pa = self.priv_si[nz], self.priv_j[nz], f[nz]
        else:
            ps = pj = pa = np.zeros(0, I64)
        fl = flows[: self.n_struct]
        nz = np.flatnonzero(fl)
        ent = self.entry_arcs_start
        is_src = nz >= ent
        frags: dict[int, dict[int, int]] = defaultdict(dict)
        for t, h, f in zip(self.np_tails[nz[is_src]].tolist(), self.np_heads[nz[is_src]].tolist(),
                           fl[nz[is_src]].tolist(), strict=True):
            d = frags[h]
            d[t] = d.get(t, 0) + f
        arcs = nz[~is_src]
        a_tail = self.np_tails[arcs]
        lo = self.arc_need_lo
        a_need = np.where((arcs >= lo) & (arcs < lo + len(self.arc_need_j)),
                          self.arc_need_j[np.clip(arcs - lo, 0, max(len(self.arc_need_j) - 1, 0))]
                          if len(self.arc_need_j) else -1, -1)
        whole = self.whole
        a_whole = np.where(a_need >= 0, whole[np.maximum(a_need, 0)], False)
        a_flow = fl[arcs]
        # per tail node in decomposition order; within a node: whole needs first, then
        # the largest flows (best fit works best on big pieces first)
        order = np.lexsort((a_need, arcs, -a_flow, ~a_whole, a_tail, self.node_rank[a_tail]))
        t_l = a_tail[order].tolist()
        h_l = self.np_heads[arcs[order]].tolist()
        f_l = a_flow[order].tolist()
        j_l = a_need[order].tolist()
        n = len(t_l)
        i = 0
        while i < n:
            u = t_l[i]
            k = i
            while k < n and t_l[k] == u:
                k += 1
            fr = frags.pop(u, None)
            if fr:
                items = sorted((a, s) for s, a in fr.items())
                amts = [a for a, _ in items]
                srcs = [s for _, s in items]
                for x in range(i, k):
                    h, f, j = h_l[x], f_l[x], j_l[x]
                    q = bisect_left(amts, f)
                    if q < len(amts):
                        a, s = amts.pop(q), srcs.pop(q)
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
                    if j >= 0:
                        for s, g in pieces:
                            out_s.append(s)
                            out_j.append(j)
                            out_a.append(g)
                    else:
                        d = frags[h]
                        for s, g in pieces:
                            d[s] = d.get(s, 0) + g
            i = k
        return (np.concatenate([ps, np.asarray(out_s, dtype=I64)]),
                np.concatenate([pj, np.asarray(out_j, dtype=I64)]),
                np.concatenate([pa, np.asarray(out_a, dtype=I64)]))


def min_cost_flow(net: Network, cap: np.ndarray, cost: np.ndarray, supplies: np.ndarray,
                  budget: np.ndarray) -> np.ndarray:
    """A maximum flow of least cost on ``net`` (flows per arc).  With every need's cost
    negative this is the LP optimum (the greedy base of the polymatroid is a maximum flow),
    and money that cannot be placed simply stays at its source.

    LEMON's network simplex (pylmcf) measured 3× faster than OR-Tools' cost scaling on
    these networks up to ~200k arcs, and slower past ~400k (``LEMON_MAX_ARCS``), where
    OR-Tools takes over.  LEMON needs costs ≥ 0 and balanced supplies, so the arcs into
    the sink are shifted up by C and each source gets a slack arc to the sink at cost C
    (money left unspent): the optimum is the same."""
    lemon = SOLVER == "lemon" or (SOLVER == "auto" and net.n_arcs <= LEMON_MAX_ARCS)
    if lemon:
        from pylmcf import pylmcf_cpp

        if net._lemon is None:
            t = np.concatenate([net.np_tails.astype(I64), np.arange(net.S, dtype=I64)])
            h = np.concatenate([net.np_heads.astype(I64), np.full(net.S, net.sink, I64)])
            perm = np.lexsort((h, t))  # LEMON wants arcs sorted by (tail, head)
            net._lemon = (perm, np.ascontiguousarray(t[perm]), np.ascontiguousarray(h[perm]),
                          h[perm] == net.sink)
        perm, t, h, to_sink = net._lemon
        # every unit reaches the sink through exactly one arc into it (a need's or a slack
        # arc): shifting those alone shifts every path's cost by the same amount
        shift = -int(cost.min(initial=0)) + 1
        caps = np.concatenate([cap, budget])[perm]
        costs = np.concatenate([cost, np.zeros(net.S, I64)])[perm] + np.where(to_sink, shift, 0)
        got = np.asarray(pylmcf_cpp.lmcf(supplies, t, h, np.ascontiguousarray(caps),
                                         np.ascontiguousarray(costs)), dtype=I64)
        flows = np.empty(len(perm), dtype=I64)
        flows[perm] = got
        return flows[: net.n_arcs]
    # imported here: OR-Tools takes 0.1-0.3 s to import
    from ortools.graph.python import min_cost_flow as ortools_mcf

    smcf = ortools_mcf.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(net.np_tails, net.np_heads, cap, cost)
    smcf.set_nodes_supplies(np.arange(net.n_nodes, dtype=I32), supplies)
    status = smcf.solve_max_flow_with_min_cost()
    if status != smcf.OPTIMAL:
        raise FlowError(f"min-cost flow failed: {status}")
    return smcf.flows(np.arange(net.n_arcs, dtype=I32))


class _Groups:
    """The needs behind private rows: a row (class, prefix, level) stands for the needs of
    that class under that prefix whose band is above the level (level -2, 配捐: those with
    money raised).  Kept as one array sorted by (class·prefix, band descending), so a row's
    needs are a prefix of its segment."""

    def __init__(self, tb: Tables, ncls, band, L_region, L_funded, g_c, g_p, g_lvl, pos, NB):
        P = max(tb.P, 1)
        self.pos = pos
        self.band = band
        self.g_lvl = g_lvl
        gkey = g_c * P + g_p
        self.g_ratio = g_lvl == -2
        keys_band = np.unique(gkey[~self.g_ratio])
        keys_fund = np.unique(gkey[self.g_ratio])
        by_value = np.argsort(pos, kind="stable")  # needs, most valuable first
        r_v = L_region[by_value]
        c_v = ncls[by_value]
        funded_v = L_funded[by_value] > 0
        js, ss = [], []
        for d in range(tb.D + 1):
            p = tb.reg_pref[r_v, d].astype(I64)
            nk = np.where(p >= 0, c_v * P + p, -1)
            mb = _isin_sorted(nk, keys_band)
            js.append(by_value[mb])
            ss.append(nk[mb] * 2)
            mf = _isin_sorted(nk, keys_fund) & funded_v
            js.append(by_value[mf])
            ss.append(nk[mf] * 2 + 1)
        j = np.concatenate(js) if js else np.zeros(0, I64)
        seg = np.concatenate(ss) if ss else np.zeros(0, I64)
        # segment key: (class·prefix, is-funded-index).  Two orders of each segment: by band
        # descending (a row's needs are a prefix), and by value (for the selection); stable
        # sorts of single integer keys keep the value order within equal keys
        o = np.argsort(seg, kind="stable")
        self.j_pos = j[o]
        seg = seg[o]
        o2 = np.argsort(seg * (NB + 2) + (NB - band[self.j_pos]), kind="stable")
        self.j = self.j_pos[o2]
        self.band_sorted = band[self.j]
        self.seg_keys, self.seg_start = np.unique(seg, return_index=True)
        self.seg_end = np.append(self.seg_start[1:], len(seg)).astype(I64)
        gseg = gkey * 2 + self.g_ratio
        self.g_seg = np.searchsorted(self.seg_keys, gseg)
        found = (self.g_seg < len(self.seg_keys)) & (
            self.seg_keys[np.minimum(self.g_seg, max(len(self.seg_keys) - 1, 0))] == gseg
            if len(self.seg_keys) else False)
        self.g_found = np.asarray(found, dtype=bool)
        self._cache: dict[tuple[int, int], np.ndarray] = {}
        self.front: dict[tuple[int, int], int] = {}  # selection: all before it are covered
        # above[s, ℓ+1]: needs of segment s whose band is above ℓ (ℓ = -1 .. NB-1)
        nseg = len(self.seg_keys)
        seg_of = np.repeat(np.arange(nseg), self.seg_end - self.seg_start)
        hist = np.zeros((nseg, NB + 1), dtype=I64)
        np.add.at(hist, (seg_of, self.band_sorted), 1)
        above = np.zeros((nseg, NB + 2), dtype=I64)
        above[:, :NB + 1] = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]
        gs = np.minimum(self.g_seg, max(nseg - 1, 0))
        self._counts = np.zeros(len(g_lvl), dtype=I64)
        f = self.g_found
        if f.any():
            self._counts[f] = np.where(self.g_ratio[f],
                                       self.seg_end[gs[f]] - self.seg_start[gs[f]],
                                       above[gs[f], np.maximum(g_lvl[f], -1) + 1])

    def counts(self) -> np.ndarray:
        """How many needs each row stands for."""
        return self._counts

    def expand_all(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (row, live need) the rows stand for."""
        start = np.where(self.g_found, self.seg_start[np.minimum(
            self.g_seg, max(len(self.seg_start) - 1, 0))] if len(self.seg_start) else 0, 0)
        rep, idx = _expand(start, counts)
        return rep, self.j[idx]

    def by_pos(self, g: int) -> tuple[tuple[int, int], np.ndarray]:
        """Row g's needs, most valuable first (and the cache key of that list)."""
        if not self.g_found[g]:
            return (-1, 0), np.zeros(0, I64)
        key = (int(self.g_seg[g]), int(self.g_lvl[g]))
        got = self._cache.get(key)
        if got is None:
            a, b = int(self.seg_start[key[0]]), int(self.seg_end[key[0]])
            lst = self.j_pos[a:b]
            if key[1] != -2:
                lst = lst[self.band[lst] > key[1]]
            got = self._cache[key] = lst
        return key, got
