"""`flask --app web db upgrade|downgrade`: the schema, through Alembic."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core import migrate


def db_group() -> AppGroup:
    group = AppGroup("db", help="Database schema (Alembic).")

    def _url() -> str:
        return current_app.config["SHANLIAN"].database_url

    @group.command("upgrade")
    @click.argument("revision", default="head")
    def upgrade(revision: str) -> None:
        """Migrate the database to REVISION (default: head)."""
        migrate.upgrade(_url(), revision)
        click.echo(f"database at {revision}")

    @group.command("downgrade")
    @click.argument("revision", default="base")
    def downgrade(revision: str) -> None:
        migrate.downgrade(_url(), revision)

    return group
