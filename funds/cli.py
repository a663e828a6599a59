"""The `flask --app web ledger` command group. Its commands (verify, checkpoint,
consistency, witness, key, keygen) are added by web/tlog_cli.py: `verify` there checks the
chain of the database or of a downloaded file, a signed checkpoint, and the mirror columns."""
from __future__ import annotations

from collections.abc import Callable

from flask.cli import AppGroup
from sqlmodel import Session

# Given a session, the first mirror column that disagrees with the ledger (or None). The
# check reads other domains' tables, so the caller (web/cli.py) supplies it.
MirrorCheck = Callable[[Session], object | None]


def ledger_group() -> AppGroup:
    return AppGroup("ledger", help="The hash-chained public ledger.")
