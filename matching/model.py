"""The instance (``shared/matching-instance.md``) as dataclasses, with strict parsing.

Treat them as read-only (``Need`` is not frozen only because frozen dataclasses are slow to
build at 100k needs).

Money is integer fen throughout; only the objective is a float.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from .regions import split

NEED_KINDS = ("wish", "project", "sponsorship", "microgrant")
SOURCE_KINDS = ("pledge", "community_fund")
WHOLE_BY_DEFAULT = {"wish", "sponsorship"}
# Documented input limits: one amount, budget or cap at most ¥10^12, all budgets together at
# most ¥10^12, at most 10^7 people per need.  They keep every sum and every flow cost inside
# int64 (OR-Tools multiplies flow by cost) and the objective a finite float.
MAX_FEN = 10**14
MAX_TOTAL_BUDGET = 10**14
MAX_PEOPLE = 10**7
MAX_RATIO = 100  # 配捐: a source matching more than 100× the public money is a typo


class InstanceError(ValueError):
    """Malformed instance; the message names the offending path (e.g. ``needs[3].amount``)."""


@dataclass(slots=True)
class Need:
    id: str
    kind: str
    amount: int
    funded: int
    whole: bool
    category: str
    region: tuple[str, ...]
    urgency: int
    people: int
    deadline: date | None
    beneficiary: str | None
    verified: bool
    posted_at: str | None
    open: int = 0  # amount - funded (derived)
    weight: int = 0  # 10^(urgency-1) × people: the objective value of funding it completely

    def __post_init__(self) -> None:
        self.open = self.amount - self.funded
        self.weight = 10 ** (self.urgency - 1) * self.people


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    kind: str
    budget: int
    categories: tuple[str, ...]
    regions: tuple[tuple[str, ...], ...]
    need_kinds: tuple[str, ...]
    per_grant_cap: int | None
    per_beneficiary_cap: int | None
    match_ratio: Fraction | None


@dataclass(frozen=True, slots=True)
class Instance:
    as_of: date
    needs: tuple[Need, ...]
    sources: tuple[Source, ...]


# ---------------------------------------------------------------- parsing helpers

def _get(obj: dict, key: str, path: str, required: bool = True, default: Any = None) -> Any:
    v = obj.get(key)
    if v is None:
        if required:
            raise InstanceError(f"{path}.{key}: missing required key")
        return default
    return v


def _int(v: Any, path: str, minimum: int | None = 0, maximum: int = MAX_FEN,
         what: str = "an integer (fen)") -> int:
    # 26000.0 is refused too: JSON from the platform writes fen as integers, so a float means
    # something upstream computed money in floating point
    if isinstance(v, bool) or not isinstance(v, int):
        raise InstanceError(f"{path}: expected {what}, got {type(v).__name__} {v!r}")
    if minimum is not None and v < minimum:
        raise InstanceError(f"{path}: must be >= {minimum}, got {v}")
    if v > maximum:
        yuan = f" fen (¥{maximum // 100:,})" if maximum == MAX_FEN else ""
        raise InstanceError(f"{path}: {v} is above the maximum {maximum}{yuan}")
    return v


def _str(v: Any, path: str) -> str:
    if not isinstance(v, str) or not v.strip():
        raise InstanceError(f"{path}: expected a non-empty string, got {v!r}")
    return v


def _bool(v: Any, path: str) -> bool:
    if not isinstance(v, bool):
        raise InstanceError(f"{path}: expected true or false, got {v!r}")
    return v


_DATES: dict[str, date] = {}


def _date(v: Any, path: str) -> date:
    if type(v) is str and v in _DATES:
        return _DATES[v]
    if not isinstance(v, str):
        raise InstanceError(f"{path}: expected an ISO date string, got {v!r}")
    try:
        d = (datetime.fromisoformat(v.replace("Z", "+00:00")).date() if "T" in v
             else date.fromisoformat(v))
    except ValueError:
        raise InstanceError(f"{path}: not an ISO date: {v!r}") from None
    if len(_DATES) < 100_000:
        _DATES[v] = d
    return d


def _str_list(v: Any, path: str) -> tuple[str, ...]:
    if v is None:
        return ()
    if not isinstance(v, list):
        raise InstanceError(f"{path}: expected a list of strings, got {type(v).__name__}")
    return tuple(_str(x, f"{path}[{i}]") for i, x in enumerate(v))


def _region(v: Any, path: str) -> tuple[str, ...]:
    """A region path exactly as the platform writes it: ``省/市/县``, no empty or padded
    segment, no leading or trailing ``/`` (anything else is a bug upstream, not a region)."""
    if not isinstance(v, str) or not v:
        raise InstanceError(f"{path}: expected a region path like '山东省/滨州市', got {v!r}")
    parts = split(v)
    if "/".join(parts) != v:
        raise InstanceError(f"{path}: malformed region path {v!r} (segments separated by one '/', "
                            "none empty, no spaces around them, no leading or trailing '/')")
    return parts


def _cap(v: Any, path: str) -> int | None:
    return None if v is None else _int(v, path, minimum=0)


def _ratio(v: Any, path: str) -> Fraction | None:
    if v is None:
        return None
    if (isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0
            or v > MAX_RATIO):
        raise InstanceError(f"{path}: expected a number from 0 to {MAX_RATIO}, got {v!r}")
    return Fraction(repr(v)) if isinstance(v, float) else Fraction(v)


def _need(d: Any, path: str) -> Need:
    if not isinstance(d, dict):
        raise InstanceError(f"{path}: expected an object")
    g = d.get
    nid, kind, amount, cat, region, urg = (g("id"), g("kind"), g("amount"), g("category"),
                                           g("region"), g("urgency"))
    funded, people, whole, ver = g("funded", 0), g("people", 1), g("whole"), g("verified", False)
    # fast path for well-formed needs; anything odd goes through the checks that explain it
    if not (type(nid) is str and nid.strip() and kind in NEED_KINDS and type(amount) is int
            and amount <= MAX_FEN and type(funded) is int and 0 <= funded <= amount
            and type(cat) is str and cat.strip() and type(region) is str and type(urg) is int
            and 1 <= urg <= 5 and type(people) is int and 1 <= people <= MAX_PEOPLE
            and (whole is None or type(whole) is bool) and type(ver) is bool):
        return _need_slow(d, path)
    parts = _region(region, f"{path}.region")
    ben, deadline, posted = g("beneficiary"), g("deadline"), g("posted_at")
    return Need(
        id=nid, kind=kind, amount=amount, funded=funded,
        whole=kind in WHOLE_BY_DEFAULT if whole is None else whole,
        category=cat, region=parts, urgency=urg, people=people,
        deadline=None if deadline is None else _date(deadline, f"{path}.deadline"),
        beneficiary=None if ben is None else _str(ben, f"{path}.beneficiary"),
        verified=ver,
        posted_at=None if posted is None else _str(posted, f"{path}.posted_at"),
    )


def _need_slow(d: dict, path: str) -> Need:
    kind = _str(_get(d, "kind", path), f"{path}.kind")
    if kind not in NEED_KINDS:
        raise InstanceError(f"{path}.kind: unknown need kind {kind!r} (one of {', '.join(NEED_KINDS)})")
    amount = _int(_get(d, "amount", path), f"{path}.amount")
    funded = _int(_get(d, "funded", path, False, 0), f"{path}.funded")
    if funded > amount:
        raise InstanceError(f"{path}.funded: {funded} exceeds amount {amount}")
    urgency = _int(_get(d, "urgency", path), f"{path}.urgency", minimum=1, maximum=5,
                   what="an integer 1..5")
    whole = d.get("whole")
    ben = d.get("beneficiary")
    deadline = d.get("deadline")
    posted = d.get("posted_at")
    return Need(
        id=_str(_get(d, "id", path), f"{path}.id"),
        kind=kind,
        amount=amount,
        funded=funded,
        whole=kind in WHOLE_BY_DEFAULT if whole is None else _bool(whole, f"{path}.whole"),
        category=_str(_get(d, "category", path), f"{path}.category"),
        region=_region(_get(d, "region", path), f"{path}.region"),
        urgency=urgency,
        people=_int(_get(d, "people", path, False, 1), f"{path}.people", minimum=1,
                    maximum=MAX_PEOPLE, what="a whole number of people"),
        deadline=None if deadline is None else _date(deadline, f"{path}.deadline"),
        beneficiary=None if ben is None else _str(ben, f"{path}.beneficiary"),
        verified=_bool(_get(d, "verified", path, False, False), f"{path}.verified"),
        posted_at=None if posted is None else _str(posted, f"{path}.posted_at"),
    )


def _source(d: Any, path: str) -> Source:
    if not isinstance(d, dict):
        raise InstanceError(f"{path}: expected an object")
    kinds = _str_list(d.get("need_kinds"), f"{path}.need_kinds")
    for i, k in enumerate(kinds):
        if k not in NEED_KINDS:
            raise InstanceError(f"{path}.need_kinds[{i}]: unknown need kind {k!r}")
    regions = _str_list(d.get("regions"), f"{path}.regions")
    kind = _str(_get(d, "kind", path), f"{path}.kind")
    if kind not in SOURCE_KINDS:
        raise InstanceError(f"{path}.kind: unknown source kind {kind!r} "
                            f"(one of {', '.join(SOURCE_KINDS)})")
    return Source(
        id=_str(_get(d, "id", path), f"{path}.id"),
        kind=kind,
        budget=_int(_get(d, "budget", path), f"{path}.budget"),
        categories=_str_list(d.get("categories"), f"{path}.categories"),
        regions=tuple(_region(r, f"{path}.regions[{i}]") for i, r in enumerate(regions)),
        need_kinds=kinds,
        per_grant_cap=_cap(d.get("per_grant_cap"), f"{path}.per_grant_cap"),
        per_beneficiary_cap=_cap(d.get("per_beneficiary_cap"), f"{path}.per_beneficiary_cap"),
        match_ratio=_ratio(d.get("match_ratio"), f"{path}.match_ratio"),
    )


def parse_instance(data: Any) -> Instance:
    """Validate and convert a JSON-like dict; raises :class:`InstanceError` naming the bad path."""
    if not isinstance(data, dict):
        raise InstanceError("instance: expected a JSON object")
    as_of = _date(_get(data, "as_of", "instance"), "instance.as_of")
    raw_needs = _get(data, "needs", "instance")
    raw_sources = _get(data, "sources", "instance")
    if not isinstance(raw_needs, list):
        raise InstanceError("instance.needs: expected a list")
    if not isinstance(raw_sources, list):
        raise InstanceError("instance.sources: expected a list")
    needs = tuple(_need(d, f"needs[{i}]") for i, d in enumerate(raw_needs))
    sources = tuple(_source(d, f"sources[{i}]") for i, d in enumerate(raw_sources))
    total = sum(s.budget for s in sources)
    if total > MAX_TOTAL_BUDGET:
        raise InstanceError(f"instance.sources: budgets total {total} fen, above the maximum "
                            f"{MAX_TOTAL_BUDGET} fen (¥{MAX_TOTAL_BUDGET // 100:,})")
    for label, items in (("needs", needs), ("sources", sources)):
        seen: set[str] = set()
        for i, x in enumerate(items):
            if x.id in seen:
                raise InstanceError(f"{label}[{i}].id: duplicate id {x.id!r}")
            seen.add(x.id)
    return Instance(as_of=as_of, needs=needs, sources=sources)
