"""Check a result against every rule of the format page.  Empty list = valid.

Deliberately independent of the engine: it walks the allocations and re-derives every limit
from the instance, so it can judge results from any engine (or from the web side).  Sums and
caps are checked on arrays; category, kind and region once per distinct (source, category,
kind, region) with the rule functions of :mod:`eligibility`; every problem found is then
explained pair by pair.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import eligibility as el
from .model import NEED_KINDS, Instance, parse_instance

_TOL = 1e-6
_HUGE = 2**62  # an amount above every budget: refused before it reaches int64 arithmetic
I64 = np.int64


def _rows(result_allocs: list, need_idx: dict, src_idx: dict, out: list[str]):
    """(need index, source index, amount) per allocation; malformed ones are reported."""
    if set(map(type, result_allocs)) <= {dict}:
        try:
            ni = [need_idx.get(a.get("need"), -1) for a in result_allocs]
            si = [src_idx.get(a.get("source"), -1) for a in result_allocs]
        except TypeError:  # an unhashable id: explained below
            ni = si = None
        if ni is not None:
            amt = [a.get("amount") for a in result_allocs]
            if (-1 not in ni and -1 not in si and set(map(type, amt)) <= {int}
                    and (not amt or (min(amt) > 0 and max(amt) < _HUGE))):
                return ni, si, amt
    ni, si, amt = [], [], []
    for i, a in enumerate(result_allocs):
        where = f"allocations[{i}]"
        if not isinstance(a, dict):
            out.append(f"{where}: expected an object")
            continue
        nid, sid, x = a.get("need"), a.get("source"), a.get("amount")
        n = need_idx.get(nid, -1) if isinstance(nid, str) else -1
        s = src_idx.get(sid, -1) if isinstance(sid, str) else -1
        if n < 0:
            out.append(f"{where}: unknown need {nid!r}")
            continue
        if s < 0:
            out.append(f"{where}: unknown source {sid!r}")
            continue
        if isinstance(x, bool) or not isinstance(x, int) or x <= 0:
            out.append(f"{where}: amount must be a positive integer number of fen, got {x!r}")
            continue
        if x >= _HUGE:
            out.append(f"{where}: amount {x} is above any budget")
            continue
        ni.append(n)
        si.append(s)
        amt.append(x)
    return ni, si, amt


def validate(instance: Instance | dict, result: Any) -> list[str]:
    inst = instance if isinstance(instance, Instance) else parse_instance(instance)
    out: list[str] = []
    if not isinstance(result, dict) or not isinstance(result.get("allocations"), list):
        return ["result: expected an object with an 'allocations' list"]
    c = inst.cols
    sources = inst.sources
    S = len(sources)
    need_idx = dict(zip(c.ids, range(c.n), strict=True))
    src_idx = {s.id: i for i, s in enumerate(sources)}
    ni, si, amt = _rows(result["allocations"], need_idx, src_idx, out)
    ni = np.asarray(ni, dtype=I64)
    si = np.asarray(si, dtype=I64)
    amt = np.asarray(amt, dtype=I64)

    # per (need, source): summed amounts; per need: how many allocations
    key = ni * max(S, 1) + si
    pk, inv = np.unique(key, return_inverse=True)
    p_amt = np.zeros(len(pk), dtype=I64)
    np.add.at(p_amt, inv, amt)
    p_n, p_s = pk // max(S, 1), pk % max(S, 1)
    grants = np.bincount(ni, minlength=c.n)

    # eligibility: category, kind, region once per distinct (source, category, kind, region)
    combo = ((p_s * len(c.cat_names) + c.cat[p_n]) * 4 + c.kind[p_n]) * max(
        len(c.regions), 1) + c.region[p_n]
    uc, cinv = np.unique(combo, return_inverse=True)
    ok_c = np.empty(len(uc), dtype=bool)
    nreg, ncat = max(len(c.regions), 1), len(c.cat_names)
    for k, x in enumerate(uc.tolist()):
        r = x % nreg
        x //= nreg
        kind = x % 4
        x //= 4
        cat, s = x % ncat, x // ncat
        ok_c[k] = el.accepts(sources[s], _View(c.cat_names[cat], NEED_KINDS[kind], c.regions[r]))
    gcap = np.asarray([_HUGE if s.per_grant_cap is None else s.per_grant_cap
                       for s in sources], dtype=I64)
    ok = ok_c[cinv] & c.verified[p_n] & (c.deadline[p_n] >= inst.as_of.toordinal())
    ok &= p_amt <= gcap[p_s]
    ratio_rows = np.flatnonzero(np.asarray([s.match_ratio is not None for s in sources],
                                           dtype=bool)[p_s]) if S else np.zeros(0, I64)
    for k in ratio_rows.tolist():
        r = sources[int(p_s[k])].match_ratio
        if int(p_amt[k]) > r.numerator * int(c.funded[p_n[k]]) // r.denominator:
            ok[k] = False
    as_of = inst.as_of
    for k in np.flatnonzero(~ok).tolist():
        n, s, a = inst.need(int(p_n[k])), sources[int(p_s[k])], int(p_amt[k])
        tag = f"{s.id} -> {n.id}"
        if not n.verified:
            out.append(f"{tag}: need is not verified")
        if n.deadline is not None and n.deadline < as_of:
            out.append(f"{tag}: need expired on {n.deadline} (as_of {as_of})")
        if not el.category_ok(s, n):
            out.append(f"{tag}: category {n.category} not accepted by source")
        if not el.kind_ok(s, n):
            out.append(f"{tag}: need kind {n.kind} not accepted by source")
        if not el.region_ok(s, n):
            out.append(f"{tag}: region {'/'.join(n.region)} outside source regions")
        if s.per_grant_cap is not None and a > s.per_grant_cap:
            out.append(f"{tag}: grant {a} exceeds per_grant_cap {s.per_grant_cap}")
        if a > el.match_limit(s, n):
            out.append(f"{tag}: grant {a} exceeds match_ratio × funded = {el.match_limit(s, n)}")

    given_need = np.zeros(c.n, dtype=I64)
    np.add.at(given_need, ni, amt)
    bad = (given_need > c.open) | (c.whole & (grants > 0) & ((grants != 1) | (given_need
                                                                                != c.open)))
    for i in np.flatnonzero(bad).tolist():
        nid, got, op = c.ids[i], int(given_need[i]), int(c.open[i])
        if got > op:
            out.append(f"{nid}: receives {got} but only {op} is open")
        if c.whole[i] and (grants[i] != 1 or got != op):
            out.append(f"{nid}: whole need must be funded by exactly one grant of {op}, "
                       f"got {int(grants[i])} grant(s) totalling {got}")
    given_source = np.zeros(S, dtype=I64)
    np.add.at(given_source, si, amt)
    for s_, src in enumerate(sources):
        if given_source[s_] > src.budget:
            out.append(f"{src.id}: gives {int(given_source[s_])} but budget is {src.budget}")
    hb = c.ben[ni] >= 0
    nb = len(c.ben_names) + 1
    bk, binv = np.unique(si[hb] * nb + c.ben[ni[hb]], return_inverse=True)
    b_amt = np.zeros(len(bk), dtype=I64)
    np.add.at(b_amt, binv, amt[hb])
    bcap = np.asarray([_HUGE if s.per_beneficiary_cap is None else s.per_beneficiary_cap
                       for s in sources], dtype=I64)
    for k in np.flatnonzero(b_amt > bcap[bk // nb] if len(bk) else np.zeros(0, bool)).tolist():
        src = sources[int(bk[k] // nb)]
        out.append(f"{src.id}: gives beneficiary {c.ben_names[int(bk[k] % nb)]} {int(b_amt[k])}"
                   f" > per_beneficiary_cap {src.per_beneficiary_cap}")

    unfunded = result.get("unfunded")
    if unfunded is not None:
        for nid in unfunded if isinstance(unfunded, list) else ["<not a list>"]:
            i = need_idx.get(nid) if isinstance(nid, str) else None
            if i is None:
                out.append(f"unfunded: unknown need {nid!r}")
            elif given_need[i]:
                out.append(f"unfunded: {nid} is listed but receives {int(given_need[i])}")

    stats = result.get("stats")
    if isinstance(stats, dict):
        obj = el.objective_of(c, given_need)
        rep = stats.get("objective")
        if not isinstance(rep, int | float) or abs(rep - obj) > _TOL * max(1.0, abs(obj)):
            out.append(f"stats.objective: reported {rep!r}, recomputed {obj!r}")
        ub = stats.get("upper_bound")
        if isinstance(ub, int | float) and ub < obj - _TOL * max(1.0, abs(obj)):
            out.append(f"stats.upper_bound {ub} is below the objective {obj}")
        stranded = sum(s.budget for s in sources) - int(given_source.sum())
        if "stranded" in stats and stats["stranded"] != stranded:
            out.append(f"stats.stranded: reported {stats['stranded']!r}, recomputed {stranded}")
    return out


class _View:
    """What the eligibility rules read of a need."""
    __slots__ = ("category", "kind", "region")

    def __init__(self, category: str, kind: str, region: tuple[str, ...]):
        self.category, self.kind, self.region = category, kind, region

