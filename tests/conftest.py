"""Shared fixtures. With DATABASE_URL / REDIS_URL set (CI does), the suite runs on the real
PostgreSQL and Redis and any test that needs them fails instead of skipping."""
from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core import clock, migrate
from core.config import Settings
from core.db import dispose_all, get_engine, unit_of_work
from funds import ledger_guard

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _admin(base_url: str, *statements: str) -> None:
    """Run statements such as CREATE/DROP DATABASE on the server of `base_url`."""
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        admin.dispose()


def _worker_services() -> None:
    """Under pytest-xdist (`-n 2`) each worker gets a PostgreSQL database and a Redis db of its
    own, named after the given ones, so that workers never empty each other's tables or share
    a rate-limit counter. Set in the environment, so subprocesses of a test follow too."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return
    number = int(worker[2:])
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        base = Settings.from_env().database_url
        name = f"{base.rsplit('/', 1)[1]}_{worker}"
        _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + name
        os.environ["SHANLIAN_TEST_BASE_DATABASE_URL"] = base
    redis_url = os.environ.get("REDIS_URL", "")
    if redis_url:
        head, _, db = redis_url.rpartition("/")
        if db.isdigit() and head.count("/") >= 2:
            os.environ["REDIS_URL"] = f"{head}/{(int(db) + number) % 16}"


_worker_services()
PG_URL = Settings.from_env().database_url if os.environ.get("DATABASE_URL") else None


def _need(what: str, available: bool) -> None:
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI but is not configured")
    pytest.skip(f"{what} not configured (set it to run this test)")


def require_postgres() -> str:
    _need("DATABASE_URL (PostgreSQL)", bool(PG_URL and PG_URL.startswith("postgresql")))
    return PG_URL


@contextmanager
def scratch_postgres() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped afterwards (for migrations)."""
    base = require_postgres()
    name = f"shanlian_mig_{uuid.uuid4().hex[:8]}"
    _admin(base, f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        _admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def require_redis() -> str:
    _need("REDIS_URL", bool(os.environ.get("REDIS_URL")))
    return os.environ["REDIS_URL"]


@pytest.fixture(scope="session", autouse=True)
def no_checkpoint_clock():
    """An app made without TESTING (to check production defaults) would start the
    in-process checkpoint clock on its first request, and its daemon thread would go on
    signing checkpoints in the shared test database every minute, under later tests. Mark
    it started for the whole run; tests of the clock swap in their own Event."""
    from jobs import checkpoints

    checkpoints._clock_started.set()
    yield


@pytest.fixture(scope="session")
def database_url() -> str:
    """The database every integration test uses, migrated from empty once per run."""
    if PG_URL:
        url = PG_URL
        engine = get_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        path = Path(tempfile.mkdtemp(prefix="shanlian-test-")) / "test.db"
        url = f"sqlite:///{path}"
    migrate.upgrade(url)
    yield url
    dispose_all()
    base = os.environ.get("SHANLIAN_TEST_BASE_DATABASE_URL")
    if base:  # this worker's own database
        _admin(base, f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def truncate_all(url: str) -> None:
    """Empty every table. On PostgreSQL a straggler of the previous test (a thread still
    reading, a served browser page) can deadlock with TRUNCATE's exclusive locks; PostgreSQL
    then aborts the TRUNCATE, which is tried again."""
    from sqlalchemy.exc import OperationalError

    for attempt in range(5):
        try:
            return _truncate_all(url)
        except OperationalError as exc:
            if "deadlock" not in str(exc).lower() or attempt == 4:
                raise
            time.sleep(0.5 * (attempt + 1))


def _truncate_all(url: str) -> None:
    engine = get_engine(url)
    from sqlmodel import SQLModel

    import core.models_registry  # noqa: F401
    from core.data_version import bump

    # The data version is never reset: caches keyed on it must not see an old value again.
    tables = [t.name for t in SQLModel.metadata.sorted_tables
              if t.name not in ("data_version", "data_scope")]
    with engine.begin() as conn:
        bump(conn)
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                              + " RESTART IDENTITY CASCADE"))
        else:
            # The ledger refuses DELETE (funds.ledger_guard): lift the guard for the emptying
            # only, inside this transaction, and put it back before it commits.
            ledger_guard.drop(conn)
            for table in reversed(tables):
                conn.execute(text(f'DELETE FROM "{table}"'))
            ledger_guard.create(conn)
            has_sequence = conn.execute(text(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'")).first()
            if has_sequence:
                conn.execute(text("DELETE FROM sqlite_sequence"))


@pytest.fixture
def clean_url(database_url):
    """An empty (migrated) database for one test."""
    truncate_all(database_url)
    clock.set_now(None)
    yield database_url
    clock.set_now(None)


@pytest.fixture
def jobs_recorded(monkeypatch) -> list:
    """Deferred jobs are recorded instead of run: for races whose subject is the money, so
    that 200 receipt PDFs are not rendered in-process (the receipt job has its own tests)."""
    from core import outbox

    sent: list = []
    monkeypatch.setattr(outbox, "_sender", lambda url, func, args: sent.append((func, args)))
    return sent


@pytest.fixture
def db(clean_url):
    """A unit of work on an empty database; committed at the end of the test."""
    with unit_of_work(get_engine(clean_url)) as session:
        yield session


@pytest.fixture(scope="module")
def demo_url(database_url):
    """The demo data, fresh for each module. Tests using it must not change it."""
    truncate_all(database_url)
    _load_demo(database_url)
    yield database_url
    truncate_all(database_url)


# The demo's rows as the services wrote them the first time, table by table. Loading the demo
# through the services takes seconds (password hashing, the ledger, PDFs) and some thirty
# modules use it: later modules get the same rows copied back instead.
_demo_rows: dict[str, list[dict]] = {}


def _load_demo(url: str) -> None:
    from sqlmodel import SQLModel

    import core.models_registry  # noqa: F401
    from core.data_version import bump
    from demo import load

    engine = get_engine(url)
    tables = [t for t in SQLModel.metadata.sorted_tables
              if t.name not in ("data_version", "data_scope")]
    if not _demo_rows:
        with unit_of_work(engine) as session:
            load(session)
        with engine.connect() as conn:
            for table in tables:
                order = list(table.primary_key.columns)
                _demo_rows[table.name] = [dict(r) for r in conn.execute(
                    table.select().order_by(*order)).mappings()]
        return
    with engine.begin() as conn:
        for table in tables:
            if _demo_rows[table.name]:
                conn.execute(table.insert(), _demo_rows[table.name])
        if engine.dialect.name == "postgresql":  # TRUNCATE … RESTART IDENTITY reset them
            owned = conn.execute(text(
                "SELECT s.oid::regclass::text, t.relname, a.attname FROM pg_depend d"
                " JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'"
                " JOIN pg_class t ON t.oid = d.refobjid"
                " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid"
                " WHERE t.relnamespace = 'public'::regnamespace")).all()
            for sequence, table, column in owned:
                conn.execute(text(f'SELECT setval(:s, coalesce(max("{column}"), 0) + 1, false)'
                                  f' FROM "{table}"'), {"s": sequence})
        bump(conn)  # what was cached between the emptying and now is stale


def tamper(url: str, *statements: str) -> None:
    """Change ledger rows behind the services' back, as an attacker with DDL rights could
    (dropping the append-only triggers first), to show the hash chain still catches it."""
    with get_engine(url).begin() as conn:
        ledger_guard.drop(conn)
        for statement in statements:
            conn.execute(text(statement))
        ledger_guard.create(conn)


def make_app(url: str):
    from web import create_app

    app = create_app(Settings(database_url=url, secret_key="test"))
    # The page cache stays on, checking the data version on every request, so every test
    # also checks that cached pages are never stale.
    # Crawling tests fetch every export: the export budget is lifted here and tested on its
    # own (test_export_cache.py).
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False, PAGE_CACHE_TTL=0,
                      EXPORT_RATE_LIMIT="100000/minute")
    return app


@pytest.fixture
def app(clean_url):
    return make_app(clean_url)


@pytest.fixture(scope="module")
def demo_app(demo_url):
    return make_app(demo_url)


@pytest.fixture
def demo_client(demo_app):
    return demo_app.test_client()
