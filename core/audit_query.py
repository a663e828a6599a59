"""Reading the audit log for the admin page: filters on actor, action, object and date,
newest first, paged by keyset (`before` = the last id shown), so a page deep in a long log
costs the same as the first."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, select

from core.audit import AuditEntry

PAGE = 50


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    action: str = ""  # exact, or a prefix ending in "." (application.)
    target: str = ""  # exact object, e.g. organisation:3, or a kind: organisation
    since: date | None = None
    until: date | None = None  # inclusive


def _start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def entries(session: Session, f: AuditFilter, before: int | None = None,
            limit: int = PAGE) -> tuple[list[AuditEntry], int | None]:
    """One page of entries and the `before` of the next page (None on the last)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    if f.actor_id is not None:
        query = query.where(AuditEntry.actor_id == f.actor_id)
    if f.action:
        query = query.where(AuditEntry.action.startswith(f.action, autoescape=True)
                            if f.action.endswith(".") else AuditEntry.action == f.action)
    if f.target:
        query = query.where(AuditEntry.target == f.target if ":" in f.target
                            else AuditEntry.target.startswith(f.target + ":", autoescape=True))
    if f.since is not None:
        query = query.where(AuditEntry.at >= _start(f.since))
    if f.until is not None:
        query = query.where(AuditEntry.at < _start(f.until + timedelta(days=1)))
    rows = list(session.exec(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].id if more else None)
