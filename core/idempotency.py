"""Idempotency-Key for the API's POSTs: a retried request gets the first response.

The key is claimed in the request's own transaction, before the work, by inserting a row
that is UNIQUE per (token, key); the response is written into that row before COMMIT. So a
key is either free or holds a committed response: a refusal rolls the claim back with
everything else, and a concurrent duplicate blocks on the unique index until the first
commits, then fails to insert and answers the stored response (PostgreSQL; SQLite's
BEGIN IMMEDIATE runs the two one after the other). Keys are kept 24 hours; the same key
with a different request (method, path or body) is refused."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, String, Text, UniqueConstraint
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from core.clock import aware, now

WINDOW = timedelta(hours=24)
MAX_KEY = 255


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "api_idempotency_key"
    __table_args__ = (UniqueConstraint("token_id", "key", name="idempotency_key_once"),)
    id: int | None = Field(default=None, primary_key=True)
    token_id: int = Field(foreign_key="api_token.id")
    key: str = Field(sa_column=Column(String(MAX_KEY), nullable=False))
    fingerprint: str = Field(max_length=64)
    status: int | None = None
    body: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    content_type: str = Field(default="", max_length=100)
    location: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=now, index=True)


@dataclass(frozen=True)
class Stored:
    status: int
    body: str
    content_type: str
    location: str


class KeyReused(Exception):
    """The key was used for a different request within the window."""


class KeyInFlight(Exception):
    """The key's first request has not finished (only seen inside its own transaction)."""


def _row(session: Session, token_id: int, key: str) -> IdempotencyKey | None:
    return session.exec(select(IdempotencyKey).where(IdempotencyKey.token_id == token_id,
                                                     IdempotencyKey.key == key)).first()


def _answer(row: IdempotencyKey, fingerprint: str) -> Stored:
    if row.fingerprint != fingerprint:
        raise KeyReused
    if row.status is None:
        raise KeyInFlight
    return Stored(row.status, row.body, row.content_type, row.location)


def claim(session: Session, token_id: int, key: str,
          fingerprint: str) -> Stored | IdempotencyKey:
    """The first response to this key (same request, within the window), or a new claim
    to `store` this request's response in."""
    row = _row(session, token_id, key)
    if row is not None and now() - aware(row.created_at) < WINDOW:
        return _answer(row, fingerprint)
    if row is not None:  # an expired key may be used again
        session.delete(row)
        session.flush()
    claimed = IdempotencyKey(token_id=token_id, key=key, fingerprint=fingerprint)
    try:
        with session.begin_nested():
            session.add(claimed)
            session.flush()
    except IntegrityError:
        # Another request with this key committed first (we waited on the unique index).
        row = _row(session, token_id, key)
        if row is None:
            raise
        return _answer(row, fingerprint)
    return claimed


def store(session: Session, claimed: IdempotencyKey, status: int, body: str,
          content_type: str, location: str = "") -> None:
    claimed.status, claimed.body = status, body
    claimed.content_type, claimed.location = content_type[:100], location[:300]
    session.add(claimed)
    session.flush()


def purge(session: Session) -> int:
    """Forget keys older than the window (a retry after a day is a new request)."""
    old = session.exec(select(IdempotencyKey)
                       .where(IdempotencyKey.created_at < now() - WINDOW)).all()
    for row in old:
        session.delete(row)
    session.flush()
    return len(old)
