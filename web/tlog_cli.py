"""`flask --app web ledger verify|checkpoint|consistency|witness|key|keygen`: the ledger's commands
that an operator and an outside party run. Attached to the `ledger` group by web/cli.py.

Exit status: 0 verified; 1 the ledger or log is broken or misbehaved; 2 it could not be
checked (bad arguments, unreachable server)."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from core.db import get_engine, unit_of_work
from funds import checkpoints, ledger, tree_store
from funds.checkpoints import TlogConfig
from funds.ledger_format import verify_file
from funds.signed_note import NoteError, Signer, open_checkpoint, parse_verifier
from funds.witness import (
    WitnessError,
    check_extends,
    http_fetch,
    verify_file_checkpoint,
    witness,
)


def _engine():
    return get_engine(current_app.config["SHANLIAN"].database_url)


def _fail(message: str, code: int = 1) -> None:
    click.echo(message, err=True)
    sys.exit(code)


def _verifier(vkey: str | None):
    try:
        return parse_verifier(vkey) if vkey else TlogConfig.from_env().signer().verifier
    except NoteError as exc:
        _fail(f"bad key: {exc}", 2)


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()[: 1 << 16]
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror}", 2)


def register(ledger_cli: AppGroup, mirror_check=None) -> None:
    """Add the ledger's commands; `verify` on the database also reconciles the mirror
    columns with `mirror_check` (funds.cli.MirrorCheck)."""
    @ledger_cli.command("verify")
    @click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
    @click.option("--checkpoint", "checkpoint_file", type=click.Path(exists=True, dir_okay=False),
                  help="A signed checkpoint: also check the file's first SIZE transactions "
                       "have its root.")
    @click.option("--key", "vkey", help="The verifier key (default: this server's own).")
    def ledger_verify(file: str | None, checkpoint_file: str | None, vkey: str | None) -> None:
        """Recompute the chain (of the database, or of a downloaded FILE); exit 1 on a break.
        With --checkpoint, also recompute the Merkle root and check the signature."""
        if checkpoint_file and not file:
            _fail("--checkpoint needs a FILE to check against it", 2)
        if checkpoint_file:
            verdict = verify_file_checkpoint(file, _read(checkpoint_file), _verifier(vkey))
        elif file:
            verdict = verify_file(file)
        else:
            with unit_of_work(_engine()) as session:
                verdict = ledger.verify(session)
                mismatch = mirror_check(session) if verdict.ok and mirror_check else None
            click.echo(str(verdict), err=not verdict.ok)
            if mismatch is not None:
                click.echo(f"mirror column differs from the ledger: {mismatch}", err=True)
            elif verdict.ok and mirror_check:
                click.echo("mirror columns match the ledger")
            sys.exit(0 if verdict.ok and mismatch is None else 1)
        message = str(verdict) + (f"; {verdict.reason}" if verdict.ok and verdict.reason else "")
        click.echo(message, err=not verdict.ok)
        sys.exit(0 if verdict.ok else 1)

    @ledger_cli.command("checkpoint")
    def ledger_checkpoint() -> None:
        """Sign a checkpoint of the ledger's tree now (if it grew) and print the latest."""
        with unit_of_work(_engine()) as session:
            issued = checkpoints.issue(session, TlogConfig.from_env())
            latest = checkpoints.latest(session)
        click.echo(("issued" if issued else "unchanged since the last checkpoint") +
                   f": size {latest.size}", err=True)
        click.echo(latest.note, nl=False)

    @ledger_cli.command("key")
    def ledger_key() -> None:
        """Print the verifier key of this server's signing key (what /disclosure/verify shows)."""
        click.echo(str(_verifier(None)))

    @ledger_cli.command("keygen")
    @click.option("--name", default=None, help="Key name (default: LEDGER_ORIGIN).")
    def ledger_keygen(name: str | None) -> None:
        """Print a new signing key for LEDGER_SIGNING_KEY (stdout) and its verifier key."""
        try:
            signer = Signer.generate(name or TlogConfig.from_env().origin)
        except NoteError as exc:
            _fail(str(exc), 2)
        click.echo(signer.encode())
        click.echo(f"verifier key: {signer.verifier}", err=True)

    @ledger_cli.command("consistency")
    @click.argument("old_checkpoint", type=click.Path(exists=True, dir_okay=False))
    @click.argument("new_checkpoint", type=click.Path(exists=True, dir_okay=False))
    @click.option("--url", "base_url", help="Fetch the proof from this site (e.g. "
                  "https://shanlian.example); default: this server's database.")
    @click.option("--key", "vkey", help="The verifier key (default: this server's own).")
    def ledger_consistency(old_checkpoint: str, new_checkpoint: str, base_url: str | None,
                           vkey: str | None) -> None:
        """Check that NEW_CHECKPOINT's tree extends OLD_CHECKPOINT's (both signed)."""
        verifier = _verifier(vkey)
        try:
            old = open_checkpoint(_read(old_checkpoint), verifier)
            new = open_checkpoint(_read(new_checkpoint), verifier)
        except NoteError as exc:
            _fail(f"checkpoint does not verify: {exc}")
        if base_url:
            fetch = http_fetch(base_url)
        else:
            def fetch(path: str) -> bytes:
                import json
                with unit_of_work(_engine()) as session:
                    proof = tree_store.consistency_proof(session, old.size, new.size)
                return json.dumps({"from": old.size, "to": new.size,
                                   "path": [h.hex() for h in proof]}).encode()
        try:
            check_extends(fetch, old, new)
        except WitnessError as exc:
            _fail(str(exc), 1 if exc.misbehaved else 2)
        except (LookupError, ValueError) as exc:
            _fail(f"this database cannot prove it: {exc}", 1)
        click.echo(f"consistent: the tree of size {new.size} extends the one of size "
                   f"{old.size}")

    @ledger_cli.command("witness")
    @click.argument("base_url")
    @click.option("--state", "state_file", required=True, type=click.Path(dir_okay=False),
                  help="Where this witness keeps the last checkpoint it accepted.")
    @click.option("--key", "vkey", help="The log's verifier key (needed on the first run).")
    def ledger_witness(base_url: str, state_file: str, vkey: str | None) -> None:
        """Fetch BASE_URL's latest checkpoint; accept it only if it is signed and extends
        the last one accepted. Exit 1, writing nothing, if the log forked or went back."""
        try:
            accepted = witness(http_fetch(base_url), Path(state_file), vkey)
        except WitnessError as exc:
            _fail(("LOG MISBEHAVED: " if exc.misbehaved else "cannot check: ") + str(exc),
                  1 if exc.misbehaved else 2)
        click.echo(str(accepted))



