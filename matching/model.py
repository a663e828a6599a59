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
from functools import lru_cache
from typing import Any

import msgspec
import numpy as np
import orjson

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
NO_DEADLINE = np.iinfo(np.int32).max  # day ordinal of "no deadline" in NeedColumns
_POW10 = np.asarray([10**k for k in range(5)], dtype=np.int64)  # 10^(urgency-1)
_KIND_CODE = {k: i for i, k in enumerate(NEED_KINDS)}


@lru_cache(maxsize=4096)
def _from_ordinal(d: int) -> date:
    return date.fromordinal(d)


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


class NeedColumns:
    """The needs as columns, what the engine, the network and the validator read (one
    Python object per need is too slow and too big at 10^5–10^6 needs).

    Codes index the name lists: ``kind`` into :data:`NEED_KINDS`, ``cat`` into ``cat_names``,
    ``region`` into ``regions`` (segment tuples), ``ben`` into ``ben_names`` (-1: none);
    ``deadline`` is a day ordinal, :data:`NO_DEADLINE` for none."""

    __slots__ = ("n", "ids", "kind", "amount", "funded", "open", "whole", "cat", "cat_names",
                 "region", "regions", "urgency", "people", "weight", "deadline", "ben",
                 "ben_names", "verified", "posted_at")

    def __init__(self, ids, kind, amount, funded, whole, cat, cat_names, region, regions,
                 urgency, people, deadline, ben, ben_names, verified, posted_at):
        i64 = np.int64
        self.n = len(ids)
        self.ids: list[str] = ids
        self.kind = np.asarray(kind, dtype=np.int8)
        self.amount = np.asarray(amount, dtype=i64)
        self.funded = np.asarray(funded, dtype=i64)
        self.open = self.amount - self.funded
        self.whole = np.asarray(whole, dtype=bool)
        self.cat = np.asarray(cat, dtype=np.int32)
        self.cat_names: list[str] = cat_names
        self.region = np.asarray(region, dtype=np.int32)
        self.regions: list[tuple[str, ...]] = regions
        self.urgency = np.asarray(urgency, dtype=np.int8)
        self.people = np.asarray(people, dtype=i64)
        self.weight = _POW10[self.urgency.astype(np.intp) - 1] * self.people
        self.deadline = np.asarray(deadline, dtype=np.int32)
        self.ben = np.asarray(ben, dtype=np.int32)
        self.ben_names: list[str] = ben_names
        self.verified = np.asarray(verified, dtype=bool)
        self.posted_at: list[str | None] = posted_at

    def live(self, as_of: date) -> np.ndarray:
        """Verified, not past its deadline, something still open (``eligibility.is_live``)."""
        return self.verified & (self.deadline >= as_of.toordinal()) & (self.open > 0)

    def need(self, i: int) -> Need:
        d = int(self.deadline[i])
        b = int(self.ben[i])
        return Need(
            id=self.ids[i], kind=NEED_KINDS[self.kind[i]], amount=int(self.amount[i]),
            funded=int(self.funded[i]), whole=bool(self.whole[i]),
            category=self.cat_names[self.cat[i]], region=self.regions[self.region[i]],
            urgency=int(self.urgency[i]), people=int(self.people[i]),
            deadline=None if d == NO_DEADLINE else _from_ordinal(d),
            beneficiary=None if b < 0 else self.ben_names[b], verified=bool(self.verified[i]),
            posted_at=self.posted_at[i])

    @classmethod
    def from_needs(cls, needs) -> NeedColumns:
        cats: dict[str, int] = {}
        regs: dict[tuple, int] = {}
        bens: dict[str, int] = {}
        kind_code = {k: i for i, k in enumerate(NEED_KINDS)}
        return cls(
            ids=[n.id for n in needs], kind=[kind_code[n.kind] for n in needs],
            amount=[n.amount for n in needs], funded=[n.funded for n in needs],
            whole=[n.whole for n in needs],
            cat=[cats.setdefault(n.category, len(cats)) for n in needs], cat_names=list(cats),
            region=[regs.setdefault(n.region, len(regs)) for n in needs], regions=list(regs),
            urgency=[n.urgency for n in needs], people=[n.people for n in needs],
            deadline=[NO_DEADLINE if n.deadline is None else n.deadline.toordinal()
                      for n in needs],
            ben=[-1 if n.beneficiary is None else bens.setdefault(n.beneficiary, len(bens))
                 for n in needs], ben_names=list(bens),
            verified=[n.verified for n in needs], posted_at=[n.posted_at for n in needs])


class Instance:
    """A parsed instance: ``as_of``, ``sources`` (:class:`Source` objects), ``cols`` (the
    needs as :class:`NeedColumns`) and ``needs`` (:class:`Need` objects, made from the
    columns on first use: the engine itself never needs them).  Read-only by convention."""

    __slots__ = ("as_of", "sources", "cols", "_needs")

    def __init__(self, as_of: date, needs: tuple[Need, ...] | None = None,
                 sources: tuple[Source, ...] = (), cols: NeedColumns | None = None):
        self.as_of = as_of
        self.sources = tuple(sources)
        self._needs = None if needs is None else tuple(needs)
        self.cols = NeedColumns.from_needs(self._needs or ()) if cols is None else cols

    @property
    def needs(self) -> tuple[Need, ...]:
        if self._needs is None:
            self._needs = tuple(map(self.cols.need, range(self.cols.n)))
        return self._needs

    def need(self, i: int) -> Need:
        """Need ``i`` (from the tuple when it exists, else made from the columns)."""
        return self.cols.need(i) if self._needs is None else self._needs[i]


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


class _NeedSpec(msgspec.Struct):
    """The types of a well-formed need, checked in C by msgspec (fast path only: anything it
    refuses goes to :func:`_need`, which explains what is wrong or accepts it)."""
    id: str
    kind: str
    amount: int
    category: str
    region: str
    urgency: int
    funded: int | None = None
    whole: bool | None = None
    people: int | None = None
    deadline: str | None = None
    beneficiary: str | None = None
    verified: bool | None = None
    posted_at: str | None = None


class _TopSpec(msgspec.Struct):
    as_of: Any = None
    needs: list[_NeedSpec] = []
    sources: Any = None


_DECODER = msgspec.json.Decoder(_TopSpec)
_NEED_LIST = list[_NeedSpec]


def _blank(strings) -> bool:
    """Is one of these strings empty or only whitespace (what :func:`_str` refuses)?"""
    return "" in strings or any(map(str.isspace, strings))


def _codes(values: list) -> tuple[list[int], list]:
    """Each value's index among the distinct values (in order of first appearance)."""
    code = {v: i for i, v in enumerate(dict.fromkeys(values))}
    return list(map(code.__getitem__, values)), list(code)


def _needs_fast(specs: list[_NeedSpec]) -> NeedColumns | None:
    """The needs as columns, one pass per field, when every need is well-formed; None at the
    first doubt (then :func:`_need` parses each one and names what is wrong)."""
    if not specs:
        return None
    ids = [d.id for d in specs]
    kinds = [d.kind for d in specs]
    amount = [d.amount for d in specs]
    funded = [d.funded for d in specs]
    urgency = [d.urgency for d in specs]
    people = [d.people for d in specs]
    id_set = set(ids)
    if (len(id_set) != len(ids) or _blank(id_set)
            or not set(kinds) <= _KIND_CODE.keys()
            or min(amount) < 0 or max(amount) > MAX_FEN
            or min(urgency) < 1 or max(urgency) > 5):
        return None
    if None in funded:
        funded = [0 if f is None else f for f in funded]
    if None in people:
        people = [1 if p is None else p for p in people]
    if min(people) < 1 or max(people) > MAX_PEOPLE or min(funded) < 0:
        return None
    am, fu = np.asarray(amount, dtype=np.int64), np.asarray(funded, dtype=np.int64)
    if (fu > am).any():
        return None
    cats, cat_names = _codes([d.category for d in specs])
    regs, reg_names = _codes([d.region for d in specs])
    deadline = [d.deadline for d in specs]
    try:
        reg_parts = [_region(r, "region") for r in reg_names]
        dates = {v: _date(v, "deadline") for v in set(deadline) if v is not None}
    except InstanceError:
        return None
    ordinal = {v: d.toordinal() for v, d in dates.items()}
    ordinal[None] = NO_DEADLINE
    ben = [d.beneficiary for d in specs]
    ben_names = [b for b in dict.fromkeys(ben) if b is not None]
    ben_code = {b: i for i, b in enumerate(ben_names)}
    ben_code[None] = -1
    posted = [d.posted_at for d in specs]
    posted_set = set(posted)
    posted_set.discard(None)
    if _blank(set(cat_names)) or _blank(set(ben_names)) or _blank(posted_set):
        return None
    whole = [d.whole for d in specs]
    if None in whole:
        whole = [k in WHOLE_BY_DEFAULT if w is None else w
                 for k, w in zip(kinds, whole, strict=True)]
    return NeedColumns(
        ids=ids, kind=list(map(_KIND_CODE.__getitem__, kinds)), amount=am, funded=fu,
        whole=whole, cat=cats, cat_names=cat_names, region=regs, regions=reg_parts,
        urgency=urgency, people=people, deadline=list(map(ordinal.__getitem__, deadline)),
        ben=list(map(ben_code.__getitem__, ben)), ben_names=ben_names,
        verified=[d.verified is True for d in specs], posted_at=posted)


def load_instance(raw: bytes) -> Instance:
    """Parse instance JSON text: straight into columns when it is well-formed (msgspec, no
    dict per need), else through :func:`parse_instance` on the decoded JSON, which names
    what is wrong.  Raises :class:`InstanceError` (invalid JSON included)."""
    try:
        top = _DECODER.decode(raw)
    except (msgspec.MsgspecError, RecursionError, ValueError, TypeError):
        top = None
    if top is not None and isinstance(top.sources, list):
        cols = _needs_fast(top.needs)
        if cols is not None:
            return _assemble(top.as_of, cols, None, top.sources)
    return parse_instance(load_json(raw))


def load_json(raw: bytes) -> Any:
    """orjson: NaN and nesting deeper than 1024 levels are refused with a clear message;
    integers beyond 64 bits become floats, which the parser refuses as amounts."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        msg = e.msg
        if "depth limit" in msg:
            msg = "nested deeper than 1024 levels"
        raise InstanceError(f"not valid JSON: {msg} at line {e.lineno} column {e.colno}") from None


def parse_instance(data: Any) -> Instance:
    """Validate and convert a JSON-like dict; raises :class:`InstanceError` naming the bad path."""
    if not isinstance(data, dict):
        raise InstanceError("instance: expected a JSON object")
    raw_needs = data.get("needs")
    cols = None
    if isinstance(raw_needs, list):
        try:
            cols = _needs_fast(msgspec.convert(raw_needs, _NEED_LIST))
        except (msgspec.MsgspecError, RecursionError, ValueError, TypeError):
            cols = None
    return _assemble(data.get("as_of"), cols, raw_needs, data.get("sources"))


def _assemble(as_of: Any, cols: NeedColumns | None, raw_needs: Any,
              raw_sources: Any) -> Instance:
    """The checks in the order the format page's readers expect: as_of, the needs (the
    careful parser when ``cols`` is None), sources, budget total, duplicate ids."""
    if as_of is None:
        raise InstanceError("instance.as_of: missing required key")
    as_of = _date(as_of, "instance.as_of")
    if cols is None and raw_needs is None:
        raise InstanceError("instance.needs: missing required key")
    if raw_sources is None:
        raise InstanceError("instance.sources: missing required key")
    if cols is None and not isinstance(raw_needs, list):
        raise InstanceError("instance.needs: expected a list")
    if not isinstance(raw_sources, list):
        raise InstanceError("instance.sources: expected a list")
    needs = None
    if cols is None:
        needs = tuple(_need(d, f"needs[{i}]") for i, d in enumerate(raw_needs))
    sources = tuple(_source(d, f"sources[{i}]") for i, d in enumerate(raw_sources))
    total = sum(s.budget for s in sources)
    if total > MAX_TOTAL_BUDGET:
        raise InstanceError(f"instance.sources: budgets total {total} fen, above the maximum "
                            f"{MAX_TOTAL_BUDGET} fen (¥{MAX_TOTAL_BUDGET // 100:,})")
    checks = [("sources", [s.id for s in sources])]
    if needs is not None:  # the fast path has checked the needs' ids already
        checks.insert(0, ("needs", [n.id for n in needs]))
    for label, ids in checks:
        if len(set(ids)) == len(ids):
            continue
        seen: set[str] = set()
        for i, x in enumerate(ids):
            if x in seen:
                raise InstanceError(f"{label}[{i}].id: duplicate id {x!r}")
            seen.add(x)
    return Instance(as_of, needs, sources, cols)
