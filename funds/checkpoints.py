"""Signed checkpoints of the ledger's Merkle tree: issue, keep, and look them up.

The signing key is LEDGER_SIGNING_KEY (a Go-style `PRIVATE+KEY+…` string). Without it a
development key is generated once, on first use, under instance/ledger-signing.key, so a
fresh clone signs with a stable key; production must set its own and keep it secret.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlmodel import Session

from core.clock import now
from core.config import INSTANCE_DIR
from funds import ledger, tree_store
from funds.signed_note import Checkpoint, Signer, parse_signer
from funds.tlog_models import LedgerCheckpoint

DEFAULT_ORIGIN = "shanlian.example/ledger"
DEV_KEY_FILE = "ledger-signing.key"


@dataclass(frozen=True)
class TlogConfig:
    origin: str = DEFAULT_ORIGIN
    signing_key: str | None = None  # None: the development key under key_dir
    key_dir: Path = INSTANCE_DIR

    @classmethod
    def from_env(cls, env: dict | None = None) -> TlogConfig:
        env = os.environ if env is None else env
        return cls(origin=env.get("LEDGER_ORIGIN") or DEFAULT_ORIGIN,
                   signing_key=env.get("LEDGER_SIGNING_KEY") or None)

    def signer(self) -> Signer:
        if self.signing_key:
            return parse_signer(self.signing_key)
        return _development_signer(self.key_dir / DEV_KEY_FILE, self.origin)


def _development_signer(path: Path, name: str) -> Signer:
    """Read the development key, creating it once (O_EXCL: two processes starting at
    the same moment cannot end up with different keys)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        encoded = Signer.generate(name).encode()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(encoded + "\n")
    return parse_signer(path.read_text().strip())


def latest(session: Session) -> LedgerCheckpoint | None:
    return session.execute(
        select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc()).limit(1)).scalar()


def at_size(session: Session, size: int) -> LedgerCheckpoint | None:
    return session.execute(
        select(LedgerCheckpoint).where(LedgerCheckpoint.size == size)).scalar()


def issue(session: Session, config: TlogConfig) -> LedgerCheckpoint | None:
    """Sign the tree as it stands, if it grew since the last checkpoint (or none exists
    yet); None when there is nothing new to sign. Safe to run twice at once."""
    ledger._lock_chain(session)  # the ledger's own lock: no append while we catch up and sign
    size = tree_store.sync(session)
    last = latest(session)
    if last is not None and last.size >= size:
        return None
    signer = config.signer()
    root = tree_store.root(session, size)
    note = signer.sign_note(Checkpoint(config.origin, size, root).text())
    row = LedgerCheckpoint(size=size, root=root.hex(), origin=config.origin,
                           key_name=signer.name, note=note, issued_at=now())
    session.add(row)
    session.flush()
    return row
