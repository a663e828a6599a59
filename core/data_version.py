"""One data version for every cache: a counter bumped by each unit of work that wrote anything.

Caches of public pages, platform totals and the search index are valid while the version is
unchanged. It is bumped in the same transaction as the writes, just before COMMIT, so a reader
never sees the new version with the old data: a page rendered from old data is stored under
the old version and is never served after the commit. Any session that executed an INSERT,
UPDATE or DELETE (ORM flushes, conditional UPDATEs, raw SQL through the session) bumps it;
code that writes through a bare connection must call `bump()` itself.
"""
from __future__ import annotations

import re

from sqlalchemy import BigInteger, Column, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel

_WROTE = "shanlian_wrote"
_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)
_BUMP = text("UPDATE data_version SET version = version + 1 WHERE id = 1")
_SEED = text("INSERT INTO data_version (id, version) VALUES (1, 1)")
_READ = text("SELECT COALESCE(MAX(version), 0) FROM data_version")


class DataVersion(SQLModel, table=True):
    __tablename__ = "data_version"
    id: int = Field(primary_key=True)
    version: int = Field(sa_column=Column(BigInteger, nullable=False, default=0))


def data_version(session_or_connection) -> int:
    return int(session_or_connection.execute(_READ).scalar() or 0)


def bump(connection) -> None:
    if connection.execute(_BUMP).rowcount == 0:  # the row is gone (a truncated test database)
        connection.execute(_SEED)


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn, _cursor, statement, _params, _context, _executemany):
    if _WRITE.match(statement) and "data_version" not in statement[:40]:
        conn.info[_WROTE] = True


@event.listens_for(Engine, "rollback")
def _forget_writes(conn):
    conn.info.pop(_WROTE, None)


@event.listens_for(Engine, "commit")
def _committed(conn):
    conn.info.pop(_WROTE, None)


@event.listens_for(OrmSession, "before_commit")
def _bump_on_commit(session: OrmSession) -> None:
    if not session.in_transaction():
        return
    session.flush()  # pending ORM changes are written now, so they count
    for connection in _connections(session):
        if connection.info.pop(_WROTE, False):
            bump(connection)


def _connections(session: OrmSession):
    transaction = session.get_transaction()
    if transaction is None:
        return []
    return [conn for conn, *_ in transaction._connections.values()]
