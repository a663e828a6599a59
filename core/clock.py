"""One clock for the whole app, so tests can set the time. Times are aware, in UTC."""
from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime

_frozen: datetime | None = None


def aware(moment: datetime | None) -> datetime | None:
    """Aware UTC (SQLite hands back naive datetimes; everything stored is UTC)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def now() -> datetime:
    """Current time in UTC, to the second (the ledger hashes it at that precision)."""
    if _frozen is not None:
        return _frozen
    return datetime.now(UTC).replace(microsecond=0)


def today() -> date:
    return now().date()


def set_now(moment: datetime | None) -> None:
    """Freeze the clock (a naive time is taken as UTC); None lets it run again."""
    global _frozen
    _frozen = aware(moment).replace(microsecond=0) if moment is not None else None


@contextlib.contextmanager
def frozen(moment: datetime):
    global _frozen
    previous = _frozen
    set_now(moment)
    try:
        yield now()
    finally:
        _frozen = previous


def iso_z(moment: datetime) -> str:
    """UTC ISO 8601 with a Z, as the ledger format wants: 2026-11-24T10:00:00Z."""
    return aware(moment).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def add_months(moment, months: int):
    """Calendar months, clamping the day (Aug 31 + 6 → Feb 28/29), like PostgreSQL."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - date.resolution).day
    return moment.replace(year=year, month=month, day=min(moment.day, last))
