"""The job outbox: a job that a unit of work wants run is written as a row in that same unit
of work, and handed to the queue only after the commit. So a job never sees data that was
rolled back, is never lost when the process dies between commit and enqueue (the row stays
pending and the next dispatch sends it), and, run in-process on SQLite, never waits on the
writer lock of the transaction that asked for it.

core cannot import jobs/, so the queue registers itself here (`set_sender`)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import JSON, Column, insert
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


_INSERT = insert(OutboxJob.__table__).returning(OutboxJob.__table__.c.id)

# Sends one job to the queue: (database_url, func, args) -> None.
Sender = Callable[[str, str, list], None]
_sender: Sender | None = None


def set_sender(sender: Sender | None) -> None:
    global _sender
    _sender = sender


def defer(session: Session, func: str, *args) -> OutboxJob:
    """Ask for `func(*args, database_url=...)` to run once this unit of work commits.
    Arguments must be JSON (ids, not objects)."""
    row = OutboxJob(func=func, args=list(args), created_at=now())
    # One Core INSERT … RETURNING (no ORM flush): every confirmed gift defers two jobs.
    row.id = session.execute(_INSERT, {"func": row.func, "args": row.args,
                                       "created_at": row.created_at}).scalar_one()
    session.info.setdefault("deferred_job_ids", []).append(row.id)
    return row


def deferred_ids(session: Session) -> list[int]:
    """The jobs this unit of work deferred (only they are sent after its commit)."""
    return list(session.info.get("deferred_job_ids", ()))


def deferred_any(session: Session) -> bool:
    """Did this unit of work defer a job? (Only then is the outbox read after commit.)"""
    return bool(session.info.get("deferred_job_ids"))


def dispatch(engine: Engine, ids: list[int] | None = None,
             older_than: timedelta | None = None) -> int:
    """Send pending jobs, each marked sent in its own short transaction after it was
    enqueued (a crash in between sends it twice; jobs are idempotent). Returns how many.

    After a commit, `ids` are the jobs that unit of work deferred: each process sends only
    its own, so 32 concurrent commits do not each send every pending job (which rendered one
    receipt 32 times). `sweep` sends what a dead process left behind."""
    if _sender is None:
        return 0
    database_url = engine.url.render_as_string(hide_password=False)
    query = select(OutboxJob).where(OutboxJob.enqueued_at.is_(None)).order_by(OutboxJob.id)
    if ids is not None:
        if not ids:
            return 0
        query = query.where(OutboxJob.id.in_(ids))
    if older_than is not None:
        query = query.where(OutboxJob.created_at < now() - older_than)
    with Session(engine) as session:
        pending = [(row.id, row.func, list(row.args)) for row in session.exec(query)]
    for row_id, func, args in pending:
        _sender(database_url, func, args)
        with Session(engine) as session:
            row = session.get(OutboxJob, row_id)
            if row is not None and row.enqueued_at is None:
                row.enqueued_at = now()
                session.commit()
    return len(pending)


# A job its own process did not send within this long was left by a process that died
# between its commit and the send.
SWEEP_AFTER = timedelta(minutes=1)


def sweep(engine: Engine) -> int:
    """Send jobs left pending by a process that died after its commit (run every minute)."""
    return dispatch(engine, older_than=SWEEP_AFTER)
