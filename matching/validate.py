"""Check a result against every rule of the format page.  Empty list = valid.

Deliberately independent of the engine: it walks the allocations and re-derives every limit
from the instance, so it can judge results from any engine (or from the web side).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from . import eligibility as el
from .model import Instance, parse_instance

_TOL = 1e-6


def validate(instance: Instance | dict, result: Any) -> list[str]:
    inst = instance if isinstance(instance, Instance) else parse_instance(instance)
    out: list[str] = []
    if not isinstance(result, dict) or not isinstance(result.get("allocations"), list):
        return ["result: expected an object with an 'allocations' list"]
    needs = {n.id: n for n in inst.needs}
    sources = {s.id: s for s in inst.sources}

    pair: dict[tuple[str, str], int] = defaultdict(int)
    grants: dict[str, int] = defaultdict(int)
    for i, a in enumerate(result["allocations"]):
        if type(a) is dict:
            nid, sid, amt = a.get("need"), a.get("source"), a.get("amount")
            if nid in needs and sid in sources and type(amt) is int and amt > 0:
                pair[(nid, sid)] += amt
                grants[nid] += 1
                continue
        where = f"allocations[{i}]"
        if not isinstance(a, dict):
            out.append(f"{where}: expected an object")
            continue
        nid, sid, amt = a.get("need"), a.get("source"), a.get("amount")
        if nid not in needs:
            out.append(f"{where}: unknown need {nid!r}")
            continue
        if sid not in sources:
            out.append(f"{where}: unknown source {sid!r}")
            continue
        if isinstance(amt, bool) or not isinstance(amt, int) or amt <= 0:
            out.append(f"{where}: amount must be a positive integer number of fen, got {amt!r}")
            continue
        pair[(nid, sid)] += amt
        grants[nid] += 1

    given_need: dict[str, int] = defaultdict(int)
    given_source: dict[str, int] = defaultdict(int)
    given_ben: dict[tuple[str, str], int] = defaultdict(int)
    accepted: dict[tuple, bool] = {}  # (source, category, kind, region) -> all three rules ok
    as_of = inst.as_of
    for (nid, sid), amt in pair.items():
        n, s = needs[nid], sources[sid]
        given_need[nid] += amt
        given_source[sid] += amt
        if n.beneficiary is not None:
            given_ben[(sid, n.beneficiary)] += amt
        k = (sid, n.category, n.kind, n.region)
        ok = accepted.get(k)
        if ok is None:
            ok = accepted[k] = el.accepts(s, n)
        if (ok and n.verified and (n.deadline is None or n.deadline >= as_of)
                and (s.per_grant_cap is None or amt <= s.per_grant_cap)
                and (s.match_ratio is None or amt <= el.match_limit(s, n))):
            continue
        tag = f"{sid} -> {nid}"
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
        if s.per_grant_cap is not None and amt > s.per_grant_cap:
            out.append(f"{tag}: grant {amt} exceeds per_grant_cap {s.per_grant_cap}")
        if amt > el.match_limit(s, n):
            out.append(f"{tag}: grant {amt} exceeds match_ratio × funded = {el.match_limit(s, n)}")

    for nid, amt in given_need.items():
        n = needs[nid]
        if amt > n.open:
            out.append(f"{nid}: receives {amt} but only {n.open} is open")
        if n.whole and (grants[nid] != 1 or amt != n.open):
            out.append(f"{nid}: whole need must be funded by exactly one grant of {n.open}, "
                       f"got {grants[nid]} grant(s) totalling {amt}")
    for sid, amt in given_source.items():
        if amt > sources[sid].budget:
            out.append(f"{sid}: gives {amt} but budget is {sources[sid].budget}")
    for (sid, ben), amt in given_ben.items():
        cap = sources[sid].per_beneficiary_cap
        if cap is not None and amt > cap:
            out.append(f"{sid}: gives beneficiary {ben} {amt} > per_beneficiary_cap {cap}")

    unfunded = result.get("unfunded")
    if unfunded is not None:
        for nid in unfunded if isinstance(unfunded, list) else ["<not a list>"]:
            if nid not in needs:
                out.append(f"unfunded: unknown need {nid!r}")
            elif given_need.get(nid):
                out.append(f"unfunded: {nid} is listed but receives {given_need[nid]}")

    stats = result.get("stats")
    if isinstance(stats, dict):
        obj = el.objective(inst, given_need)
        rep = stats.get("objective")
        if not isinstance(rep, int | float) or abs(rep - obj) > _TOL * max(1.0, abs(obj)):
            out.append(f"stats.objective: reported {rep!r}, recomputed {obj!r}")
        ub = stats.get("upper_bound")
        if isinstance(ub, int | float) and ub < obj - _TOL * max(1.0, abs(obj)):
            out.append(f"stats.upper_bound {ub} is below the objective {obj}")
        stranded = sum(s.budget for s in inst.sources) - sum(given_source.values())
        if "stranded" in stats and stats["stranded"] != stranded:
            out.append(f"stats.stranded: reported {stats['stranded']!r}, recomputed {stranded}")
    return out
