"""The job outbox: a job that a unit of work wants run is written as a row in that same unit
of work, and handed to the queue only after the commit. So a job never sees data that was
rolled back, is never lost when the process dies between commit and enqueue (the row stays
pending and the next dispatch sends it), and, run in-process on SQLite, never waits on the
writer lock of the transaction that asked for it.

core cannot import jobs/, so the queue registers itself here (`set_sender`)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import JSON, Column
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from core.clock import now


class OutboxJob(SQLModel, table=True):
    __tablename__ = "job_outbox"
    id: int | None = Field(default=None, primary_key=True)
    func: str = Field(max_length=200)  # dotted path, e.g. "jobs.tasks.verify_ledger"
    args: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=now)
    enqueued_at: datetime | None = Field(default=None, index=True)


# Sends one job to the queue: (database_url, func, args) -> None.
Sender = Callable[[str, str, list], None]
_sender: Sender | None = None


def set_sender(sender: Sender | None) -> None:
    global _sender
    _sender = sender


def defer(session: Session, func: str, *args) -> OutboxJob:
    """Ask for `func(*args, database_url=...)` to run once this unit of work commits.
    Arguments must be JSON (ids, not objects)."""
    row = OutboxJob(func=func, args=list(args))
    session.add(row)
    session.flush()
    session.info["deferred_jobs"] = True
    return row


def deferred_any(session: Session) -> bool:
    """Did this unit of work defer a job? (Only then is the outbox read after commit.)"""
    return bool(session.info.get("deferred_jobs"))


def dispatch(engine: Engine) -> int:
    """Send every pending job, each marked sent in its own short transaction after it was
    enqueued (a crash in between sends it twice; jobs are idempotent). Returns how many."""
    if _sender is None:
        return 0
    database_url = engine.url.render_as_string(hide_password=False)
    with Session(engine) as session:
        pending = [(row.id, row.func, list(row.args)) for row in session.exec(
            select(OutboxJob).where(OutboxJob.enqueued_at.is_(None)).order_by(OutboxJob.id))]
    for row_id, func, args in pending:
        _sender(database_url, func, args)
        with Session(engine) as session:
            row = session.get(OutboxJob, row_id)
            if row is not None and row.enqueued_at is None:
                row.enqueued_at = now()
                session.commit()
    return len(pending)
