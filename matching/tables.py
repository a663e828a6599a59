"""Instance-wide lookup arrays: region prefixes and the sources as columns.

Regions are compared on whole segments.  Every prefix of a need's region gets an id; a
source region that is no such prefix reaches no need and is dropped.  ``reg_pref[r, d]`` is
the prefix of depth ``d`` of need region ``r`` (-1 below its depth), so "need j lies under
prefix p" is ``reg_pref[region[j], depth[p]] == p``: one array lookup, no tuple compares.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .model import NEED_KINDS, Instance
from .regions import minimal_cover

BIG = np.int64(2**62)  # "no cap" in int64 columns (above every amount and every sum)


class Tables:
    def __init__(self, inst: Instance):
        cols = inst.cols
        self.cols = cols
        sources = inst.sources
        # ---- prefixes of need regions
        pref_id: dict[tuple, int] = {}
        depth: list[int] = []
        parent: list[int] = []
        for reg in cols.regions:
            up = -1
            for d in range(len(reg) + 1):
                p = reg[:d]
                pid = pref_id.get(p)
                if pid is None:
                    pid = pref_id[p] = len(depth)
                    depth.append(d)
                    parent.append(up)
                up = pid
        self.pref_id = pref_id
        self.P = P = len(depth)
        self.D = D = max(depth, default=0)
        self.pref_depth = np.asarray(depth, dtype=np.int32)
        self.pref_parent = np.asarray(parent, dtype=np.int32)
        reg_pref = np.full((len(cols.regions), D + 1), -1, dtype=np.int32)
        for r, reg in enumerate(cols.regions):
            for d in range(len(reg) + 1):
                reg_pref[r, d] = pref_id[reg[:d]]
        self.reg_pref = reg_pref
        # pref_anc[p, d]: ancestor of prefix p at depth d (-1 below p's depth)
        anc = np.full((P, D + 1), -1, dtype=np.int32)
        for p, d in enumerate(depth):
            q = p
            for dd in range(d, -1, -1):
                anc[p, dd] = q
                q = parent[q]
        self.pref_anc = anc

        # ---- sources as columns
        S = len(sources)
        self.S = S
        i64 = np.int64
        self.budget = np.asarray([s.budget for s in sources], dtype=i64)
        self.gcap = np.asarray([BIG if s.per_grant_cap is None else s.per_grant_cap
                                for s in sources], dtype=i64)
        self.bcap = np.asarray([BIG if s.per_beneficiary_cap is None else s.per_beneficiary_cap
                                for s in sources], dtype=i64)
        self.has_bcap = np.asarray([s.per_beneficiary_cap is not None for s in sources],
                                   dtype=bool)
        self.ratio: list[Fraction | None] = [s.match_ratio for s in sources]
        self.has_ratio = np.asarray([r is not None for r in self.ratio], dtype=bool)
        self.r_num = [0 if r is None else r.numerator for r in self.ratio]
        self.r_den = [1 if r is None else r.denominator for r in self.ratio]
        # int64 is exact for ratio × funded when numerator × the largest funded fits
        fmax = int(cols.funded.max(initial=0)) + 1
        self.r_int64 = max(self.r_num, default=0) < 2**62 // fmax
        self.r_num64 = np.asarray(self.r_num if self.r_int64 else [0] * S, dtype=i64)
        self.r_den64 = np.asarray(self.r_den if self.r_int64 else [1] * S, dtype=i64)
        cat_code = {c: i for i, c in enumerate(cols.cat_names)}
        kind_code = {k: i for i, k in enumerate(NEED_KINDS)}
        C = len(cols.cat_names)
        cat_ok = np.ones((S, C), dtype=bool)
        kind_ok = np.ones((S, len(NEED_KINDS)), dtype=bool)
        scope_src: list[int] = []
        scope_pref: list[int] = []
        for si, s in enumerate(sources):
            if s.categories:
                cat_ok[si] = False
                for c in s.categories:
                    if c in cat_code:
                        cat_ok[si, cat_code[c]] = True
            if s.need_kinds:
                kind_ok[si] = False
                for k in s.need_kinds:
                    kind_ok[si, kind_code[k]] = True
            for p in minimal_cover(list(s.regions)):
                pid = pref_id.get(p)
                if pid is not None:
                    scope_src.append(si)
                    scope_pref.append(pid)
        self.cat_ok, self.kind_ok = cat_ok, kind_ok
        # a source's scope: its regions without those inside another one (so a need lies
        # under at most one of them), as (source, prefix) rows
        self.scope_src = np.asarray(scope_src, dtype=np.int64)
        self.scope_pref = np.asarray(scope_pref, dtype=np.int64)
        self.scope_keys = np.sort(self.scope_src * max(P, 1) + self.scope_pref)

    def region_ok(self, si: np.ndarray, region: np.ndarray) -> np.ndarray:
        """For pairs (source si, need region code): does one of the source's regions contain
        the need's region?"""
        P = max(self.P, 1)
        ok = np.zeros(len(si), dtype=bool)
        base = si.astype(np.int64) * P
        keys = self.scope_keys
        if not len(keys):
            return ok
        for d in range(self.D + 1):
            p = self.reg_pref[region, d]
            k = base + p
            pos = np.minimum(np.searchsorted(keys, k), len(keys) - 1)
            ok |= (p >= 0) & (keys[pos] == k)
        return ok

    def accepts(self, si: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Category, need kind and region (``eligibility.accepts``) for pairs of arrays."""
        c = self.cols
        return (self.cat_ok[si, c.cat[j]] & self.kind_ok[si, c.kind[j]]
                & self.region_ok(si, c.region[j]))

    def match_limit(self, si: np.ndarray, j: np.ndarray) -> np.ndarray:
        """配捐 limit ``floor(match_ratio × funded)`` for pairs; BIG without a ratio."""
        out = np.full(len(si), BIG, dtype=np.int64)
        rows = np.flatnonzero(self.has_ratio[si])
        if not len(rows):
            return out
        funded = self.cols.funded[j[rows]]
        sr = si[rows]
        if self.r_int64:
            out[rows] = self.r_num64[sr] * funded // self.r_den64[sr]
        else:  # ratios with long decimals: exact integers in Python
            out[rows] = [self.r_num[s] * f // self.r_den[s]
                         for s, f in zip(sr.tolist(), funded.tolist(), strict=True)]
        return out

    def grant_limit(self, si: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Largest single grant (``eligibility.grant_limit``) for pairs of arrays."""
        lim = np.minimum(self.cols.open[j], self.gcap[si])
        if self.has_ratio.any():
            lim = np.minimum(lim, self.match_limit(si, j))
        return lim

    def pair_limit(self, si: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For pairs already accepted: (most the pair may carry, eligible).  A whole need must
        fit in one grant and under the beneficiary cap; the beneficiary cap bounds the pair
        too (``eligibility.pair_ok``)."""
        c = self.cols
        lim = self.grant_limit(si, j)
        bc = np.where(c.ben[j] >= 0, self.bcap[si], BIG)
        op = c.open[j]
        whole = c.whole[j]
        ok = np.where(whole, (lim >= op) & (bc >= op), (lim > 0) & (bc > 0))
        return np.minimum(lim, bc), ok
