"""Who may fund what: the rules of "What a valid result obeys", one function per rule.

Beneficiary caps apply to needs that name a ``beneficiary``; a need without one (a community
project) is capped only by ``per_grant_cap`` and ``match_ratio``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date

from .model import Instance, Need, Source
from .regions import is_under, label, prefixes

INF = math.inf


def is_live(need: Need, as_of: date) -> bool:
    """Verified, not past its deadline, and something still open."""
    return need.verified and (need.deadline is None or need.deadline >= as_of) and need.open > 0


def category_ok(s: Source, n: Need) -> bool:
    return not s.categories or n.category in s.categories


def kind_ok(s: Source, n: Need) -> bool:
    return not s.need_kinds or n.kind in s.need_kinds


def region_ok(s: Source, n: Need) -> bool:
    return not s.regions or any(is_under(n.region, p) for p in s.regions)


def accepts(s: Source, n: Need) -> bool:
    """Category, need kind and region prefix (whole segments)."""
    return category_ok(s, n) and kind_ok(s, n) and region_ok(s, n)


def match_limit(s: Source, n: Need) -> float | int:
    """配捐: at most ``match_ratio × funded`` (floored to whole fen); ``inf`` without a ratio."""
    if s.match_ratio is None:
        return INF
    r = s.match_ratio
    return r.numerator * n.funded // r.denominator


def grant_limit(s: Source, n: Need) -> int:
    """Largest single grant ``s`` may make to ``n`` (ignoring the beneficiary total)."""
    lim = n.open
    if s.per_grant_cap is not None and s.per_grant_cap < lim:
        lim = s.per_grant_cap
    if s.match_ratio is not None:
        lim = min(lim, match_limit(s, n))
    return lim


def beneficiary_cap(s: Source, n: Need) -> int | None:
    return s.per_beneficiary_cap if n.beneficiary is not None else None


def pair_ok(s: Source, n: Need) -> bool:
    """May ``s`` give ``n`` anything at all?  A whole need must fit in one grant."""
    if not accepts(s, n):
        return False
    lim = grant_limit(s, n)
    if n.whole:
        bc = beneficiary_cap(s, n)
        return lim >= n.open and (bc is None or bc >= n.open)
    bc = beneficiary_cap(s, n)
    return lim > 0 and (bc is None or bc > 0)


def reasons(s: Source, n: Need, as_of: date) -> list[str]:
    """Human-readable list of the constraints that make ``s`` eligible for ``n``."""
    out = ["need verified"]
    out.append(
        "no deadline" if n.deadline is None else f"deadline {n.deadline} not before as_of {as_of}"
    )
    out.append(
        f"category {n.category} in {list(s.categories)}" if s.categories
        else f"source takes any category ({n.category})"
    )
    out.append(
        f"need kind {n.kind} in {list(s.need_kinds)}" if s.need_kinds
        else f"source takes any need kind ({n.kind})"
    )
    if s.regions:
        p = next(p for p in s.regions if is_under(n.region, p))
        out.append(f"region {label(n.region)} lies under {label(p)} (whole path segments)")
    else:
        out.append("source takes any region")
    if s.per_grant_cap is not None:
        rel = "fits within" if n.open <= s.per_grant_cap else "grant limited to"
        out.append(f"open {n.open} fen {rel} per_grant_cap {s.per_grant_cap}")
    if s.match_ratio is not None:
        out.append(f"配捐 limit {match_limit(s, n)} fen = {float(s.match_ratio):g} × funded {n.funded}")
    bc = beneficiary_cap(s, n)
    if bc is not None:
        out.append(f"beneficiary {n.beneficiary} total from this source kept within {bc} fen")
    if n.whole:
        out.append("whole need: one grant covers all of it")
    return out


class SourceIndex:
    """Sources by (category|None, kind|None, region prefix): candidates for one need fast."""

    def __init__(self, sources: tuple[Source, ...] | list[Source]):
        self._idx: dict[tuple, list[int]] = defaultdict(list)
        for i, s in enumerate(sources):
            for c in s.categories or (None,):
                for k in s.need_kinds or (None,):
                    for p in s.regions or ((),):
                        self._idx[(c, k, p)].append(i)

    def candidates(self, n: Need) -> list[int]:
        found: set[int] = set()
        for p in prefixes(n.region):
            for c in (n.category, None):
                for k in (n.kind, None):
                    found.update(self._idx.get((c, k, p), ()))
        return sorted(found)


def objective_of(cols, totals) -> float:
    """Σ 10^(urgency-1) × people × allocated / open over needs, from the needs' columns and
    an array of amounts per need (in need order, like :func:`objective`)."""
    m = (totals > 0) & (cols.open > 0)
    return math.fsum((cols.weight[m] * totals[m].astype(float) / cols.open[m]).tolist())


def objective(inst: Instance, totals: dict[str, int]) -> float:
    """Σ 10^(urgency-1) × people × allocated / open over needs with something allocated."""
    return math.fsum(n.weight * totals[n.id] / n.open
                     for n in inst.needs if totals.get(n.id) and n.open > 0)
