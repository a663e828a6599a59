"""Keyset ("seek") pagination: the rows that come after a given row in a sort order, found
by comparing sort keys rather than by skipping an offset, so a row added between two pages
neither shifts nor repeats what the reader already saw, and a deep page costs what the
first one costs.

A sort is a tuple of SortKeys ending with a unique column (the id). The values of the last
row's keys are what a cursor carries (`key_values`, written JSON-safe by `dump` and read
back, checked, by `load`).

A ranking held in Python (a search score the database does not hold) is paged by
`ranked_page`: its cursor is the position reached and the last id shown there."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, and_, false, literal, or_

INT_RANGE = (-(2**63), 2**63 - 1)  # a value past 64 bits would make PostgreSQL refuse the query
KINDS = ("int", "bool", "datetime", "date")


@dataclass(frozen=True)
class SortKey:
    expr: Any  # a column or SQL expression
    descending: bool = False
    kind: str = "int"  # how its value is written in a cursor: one of KINDS
    nullable: bool = False  # NULLs sort last (ascending keys only)

    def __post_init__(self) -> None:
        assert self.kind in KINDS and not (self.nullable and self.descending)


def ranked_page(ordered: Sequence[int], after: tuple | None,
                limit: int) -> tuple[list[int], tuple[int, int] | None]:
    """Up to `limit` ids of `ordered` after the cursor `after` = (position, last id), and the
    cursor of the next page (None when nothing follows). The page starts after the last id
    wherever it now ranks, so ids ranked in front of it since do not shift the walk; at its
    old position when it has left the ranking."""
    start = 0
    if after is not None:
        position, last_id = after
        try:
            start = ordered.index(last_id) + 1
        except ValueError:  # it left the results (hidden, or no longer matching)
            start = max(0, min(position, len(ordered)))
    chosen = list(ordered[start:start + limit])
    end = start + len(chosen)
    return chosen, ((end, chosen[-1]) if chosen and end < len(ordered) else None)


def order_by(keys: Sequence[SortKey]) -> list:
    return [k.expr.desc() if k.descending else
            (k.expr.asc().nulls_last() if k.nullable else k.expr.asc()) for k in keys]


def _bind(value) -> Any:
    # SQLAlchemy compares with a bare True/False only by IS; a typed parameter takes any operator.
    return literal(value, Boolean()) if isinstance(value, bool) else value


def _same(key: SortKey, value) -> Any:
    return key.expr.is_(None) if value is None else key.expr == _bind(value)


def _beyond(key: SortKey, value) -> Any:
    """Rows strictly after `value` on this key alone."""
    value = _bind(value)
    if key.descending:
        return key.expr < value
    if key.nullable:  # NULLs come last: after a value are the larger values and the NULLs
        return false() if value is None else or_(key.expr > value, key.expr.is_(None))
    return key.expr > value


def after(keys: Sequence[SortKey], values: Sequence) -> Any:
    """The condition "this row comes after the row whose keys are `values`" (lexicographic,
    each key in its own direction)."""
    branches = []
    for i, key in enumerate(keys):
        if values[i] is None and not key.nullable:
            continue
        branches.append(and_(*[_same(k, values[j]) for j, k in enumerate(keys[:i])],
                             _beyond(key, values[i])))
    return or_(*branches)


def key_columns(keys: Sequence[SortKey]) -> list:
    """The key expressions to select beside each row, so the cursor holds exactly the values
    the database compares (not Python's idea of them)."""
    return [k.expr.label(f"_k{i}") for i, k in enumerate(keys)]


def dump(keys: Sequence[SortKey], values: Sequence) -> list:
    out = []
    for key, value in zip(keys, values, strict=True):
        if value is None:
            out.append(None)
        elif key.kind == "bool":
            out.append(bool(value))
        elif key.kind == "int":
            out.append(int(value))
        else:
            out.append(value.isoformat())
    return out


def load(keys: Sequence[SortKey], raw: object) -> tuple:
    """The values `dump` wrote, checked against the keys; ValueError if they do not fit."""
    if not isinstance(raw, list) or len(raw) != len(keys):
        raise ValueError("wrong number of key values")
    values = []
    for key, value in zip(keys, raw, strict=True):
        if value is None:
            if not key.nullable:
                raise ValueError("a missing key value")
            values.append(None)
        elif key.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError("not a boolean")
            values.append(value)
        elif key.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int) \
                    or not INT_RANGE[0] <= value <= INT_RANGE[1]:
                raise ValueError("not a 64-bit integer")
            values.append(value)
        elif not isinstance(value, str) or len(value) > 40:
            raise ValueError("not a date")
        else:
            values.append(datetime.fromisoformat(value) if key.kind == "datetime"
                          else date.fromisoformat(value))
    return tuple(values)
