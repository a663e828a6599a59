"""Run the Alembic migrations under migrations/ against a database URL."""
from __future__ import annotations

from alembic import command
from alembic.config import Config

from core.config import ROOT, Settings
from core.db import ensure_sqlite_dir


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url or Settings.from_env().database_url
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    config = alembic_config(url)
    ensure_sqlite_dir(config.attributes["database_url"])
    command.upgrade(config, revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
