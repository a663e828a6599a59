"""Registers the command groups; each lives next to the code it drives."""
from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from core.cli import db_group
from core.db import get_engine, unit_of_work
from funds.cli import ledger_group
from readside.reconcile import first_mismatch


def _demo_group() -> AppGroup:
    group = AppGroup("demo", help="Demo data from the seed reports.")

    @group.command("load")
    def demo_load() -> None:
        """Load the demo programmes, needs, funds and money (idempotent)."""
        from web.demo_data import load

        with unit_of_work(get_engine(current_app.config["SHANLIAN"].database_url)) as session:
            loaded = load(session)
        click.echo("demo data loaded" if loaded else "demo data already present")

    return group


def register_cli(app: Flask) -> None:
    app.cli.add_command(db_group())
    app.cli.add_command(ledger_group(mirror_check=first_mismatch))
    app.cli.add_command(_demo_group())
