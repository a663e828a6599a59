"""`flask --app web ledger verify [FILE]`: recompute the chain of the database (or of a
downloaded FILE) and, for the database, check the mirror columns against the ledger; exit
1 naming the first problem."""
from __future__ import annotations

import sys
from collections.abc import Callable

import click
from flask import current_app
from flask.cli import AppGroup
from sqlmodel import Session

from core.db import get_engine, unit_of_work
from funds import ledger
from funds.ledger_format import verify_lines

# Given a session, the first mirror column that disagrees with the ledger (or None). The
# check reads other domains' tables, so the caller (web/cli.py) supplies it.
MirrorCheck = Callable[[Session], object | None]


def ledger_group(mirror_check: MirrorCheck | None = None) -> AppGroup:
    group = AppGroup("ledger", help="The hash-chained public ledger.")

    @group.command("verify")
    @click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
    def verify(file: str | None) -> None:
        """Recompute the chain (of the database, or of a downloaded FILE); for the database,
        also reconcile every mirror column with the ledger. Exit 1 on any problem."""
        if file:
            with open(file, encoding="utf-8") as handle:
                verdict = verify_lines(handle)
            click.echo(str(verdict), err=not verdict.ok)
            sys.exit(0 if verdict.ok else 1)
        with unit_of_work(get_engine(current_app.config["SHANLIAN"].database_url)) as session:
            verdict = ledger.verify(session)
            mismatch = mirror_check(session) if verdict.ok and mirror_check else None
        click.echo(str(verdict), err=not verdict.ok)
        if mismatch is not None:
            click.echo(f"mirror column differs from the ledger: {mismatch}", err=True)
        elif verdict.ok and mirror_check:
            click.echo("mirror columns match the ledger")
        sys.exit(0 if verdict.ok and mismatch is None else 1)

    return group
