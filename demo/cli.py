"""`flask --app web demo load`: the demo programmes, needs, funds and money (idempotent)."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from core.db import get_engine, unit_of_work


def demo_group() -> AppGroup:
    group = AppGroup("demo", help="Demo data from the seed reports.")

    @group.command("load")
    def load_command() -> None:
        """Load the demo programmes, needs, funds and money (idempotent)."""
        from demo import load

        with unit_of_work(get_engine(current_app.config["SHANLIAN"].database_url)) as session:
            loaded = load(session)
        click.echo("demo data loaded" if loaded else "demo data already present")

    return group
