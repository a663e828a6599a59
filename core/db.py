"""Database engine and the unit of work.

One transaction per request, job or CLI command: the caller opens a unit of work, services
take the session and never commit, and the unit of work commits once at the end (or rolls
everything back when anything raised).
"""
from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session, create_engine

import core.data_version  # noqa: F401  (bumps the data version on every committing write)
from core.config import Settings

_engines: dict[str, Engine] = {}
# Execution option of a read-only request's engine (web.db): a write through it is refused.
READ_ONLY = "shanlian_read_only"

# The unit of work open in this context (a request's, a job's, a CLI command's). A unit of
# work opened inside it joins it under a SAVEPOINT instead of opening a second connection,
# which on SQLite would wait for the first one's BEGIN IMMEDIATE and fail as "locked".
current_session: contextvars.ContextVar[Session | None] = contextvars.ContextVar(
    "current_session", default=None)


def get_engine(url: str | None = None) -> Engine:
    url = url or Settings.from_env().database_url
    engine = _engines.get(url)
    if engine is None:
        engine = _make_engine(url)
        _engines[url] = engine
    return engine


def ensure_sqlite_dir(url: str) -> None:
    """A fresh clone has no instance/ folder; SQLite cannot create the file without it."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite" and sa_url.database not in (None, "", ":memory:"):
        Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        ensure_sqlite_dir(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            # Foreign keys and CHECKs on; we begin transactions ourselves (see below).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # BEGIN IMMEDIATE takes the write lock up front, so two writers serialise
            # instead of failing halfway with "database is locked" on upgrade.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
    return engine


# A pooled connection is pinged before use only when it sat idle this long: a connection
# used a moment ago is alive, and a ping on every checkout was one more round trip per
# request (issue 14). A server restarted within this window fails the next statement of each
# such connection once; the pool then replaces it.
PING_AFTER_IDLE = 5.0


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, _proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # noqa: BLE001 — any failure: let the pool reconnect
            raise DisconnectionError("connection failed its ping") from exc


def dispose_all() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


def is_postgres(session_or_engine) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


@contextlib.contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """Open a session, commit once when the block ends, roll back if it raised; then hand
    the jobs it deferred (core.outbox) to the queue.

    Inside another unit of work on the same database, join it: the block runs under a
    SAVEPOINT (undone alone if it raised) and the outer unit of work commits."""
    engine = engine or get_engine()
    outer = current_session.get()
    if outer is not None and outer.get_bind().url == engine.url:
        with outer.begin_nested():
            yield outer
        return
    from core import outbox  # its table module imports nothing of this one at load time

    session = Session(engine, expire_on_commit=False)
    token = current_session.set(session)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        deferred = outbox.deferred_ids(session)
        session.close()
        current_session.reset(token)
    if deferred:
        outbox.dispatch(engine, deferred)
