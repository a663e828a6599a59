"""`db upgrade` from empty works on SQLite and on PostgreSQL, and matches the models."""
import os
import subprocess
import sys

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlmodel import SQLModel

import core.models_registry  # noqa: F401
from core import migrate
from tests.conftest import scratch_postgres


def _assert_matches_models(url: str) -> None:
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    assert diff == [], diff


def test_upgrade_from_empty_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    tables = set(inspect(create_engine(url)).get_table_names())
    assert {"need", "ledger_txn", "ledger_posting", "communityfund", "pledge"} <= tables
    _assert_matches_models(url)
    migrate.downgrade(url, "base")
    assert set(inspect(create_engine(url)).get_table_names()) <= {"alembic_version"}


def test_flask_db_upgrade_command_on_sqlite(tmp_path):
    # As on a fresh clone: the instance folder does not exist yet.
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{tmp_path / 'instance' / 'cli.db'}")
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "web", "db", "upgrade"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "instance" / "cli.db").exists()


def test_upgrade_from_empty_on_postgres():
    with scratch_postgres() as url:
        migrate.upgrade(url)
        _assert_matches_models(url)
        engine = create_engine(url)
        checks = {c["name"] for c in inspect(engine).get_check_constraints("need")}
        assert "need_not_overfunded" in checks
        engine.dispose()
        migrate.downgrade(url, "base")
