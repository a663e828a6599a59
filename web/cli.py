"""`flask --app web db upgrade`, `ledger …` (web/tlog_cli.py), `demo load`."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from core import migrate
from core.db import get_engine, unit_of_work


def register_cli(app: Flask) -> None:
    db_cli = AppGroup("db", help="Database schema (Alembic).")
    ledger_cli = AppGroup("ledger", help="The hash-chained public ledger.")
    demo_cli = AppGroup("demo", help="Demo data from the seed reports.")

    def _url() -> str:
        return current_app.config["SHANLIAN"].database_url

    @db_cli.command("upgrade")
    @click.argument("revision", default="head")
    def db_upgrade(revision: str) -> None:
        """Migrate the database to REVISION (default: head)."""
        migrate.upgrade(_url(), revision)
        click.echo(f"database at {revision}")

    @db_cli.command("downgrade")
    @click.argument("revision", default="base")
    def db_downgrade(revision: str) -> None:
        migrate.downgrade(_url(), revision)

    @demo_cli.command("load")
    def demo_load() -> None:
        """Load the demo programmes, needs, funds and money (idempotent)."""
        from web.demo_data import load

        with unit_of_work(get_engine(_url())) as session:
            loaded = load(session)
        click.echo("demo data loaded" if loaded else "demo data already present")

    from web import tlog_cli
    tlog_cli.register(ledger_cli)  # verify, checkpoint, consistency, witness

    app.cli.add_command(db_cli)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(demo_cli)
