"""Registers the command groups; each lives next to the code it drives."""
from __future__ import annotations

from flask import Flask

from core.cli import db_group
from demo.cli import demo_group
from funds.cli import ledger_group
from jobs.matching_cli import matching_group
from readside.reconcile import first_mismatch
from web import tlog_cli


def register_cli(app: Flask) -> None:
    app.cli.add_command(db_group())
    ledger = ledger_group()
    tlog_cli.register(ledger, mirror_check=first_mismatch)  # verify, checkpoint, witness, …
    app.cli.add_command(ledger)
    app.cli.add_command(demo_group())
    app.cli.add_command(matching_group())
