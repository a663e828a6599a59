"""The audit log: who did what to which object, appended by services."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, Session, SQLModel

from core.clock import now


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_log"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=now, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    action: str = Field(max_length=60)
    target: str = Field(max_length=80, index=True)
    detail: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def record(session: Session, action: str, target: str, actor_id: int | None = None,
           **detail) -> AuditEntry:
    """Append one audit entry. Never put a beneficiary's private fields in `detail`."""
    entry = AuditEntry(action=action, target=target, actor_id=actor_id, detail=detail)
    session.add(entry)
    return entry
