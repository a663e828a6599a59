"""Checking the log from outside: a witness, and offline verification of a downloaded file
against a signed checkpoint. Nothing here touches the database; the witness reads the
server only through `fetch(path) -> bytes`, so anyone can run it against our public URLs.

A witness keeps the last checkpoint it accepted. Each run it fetches the newest, checks the
signature, and checks a consistency proof that the new tree extends the old one. A log that
went backwards, forked (two roots for one size) or rewrote history fails loudly, and the
state file is left exactly as it was, so the evidence is kept.
"""
from __future__ import annotations

import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from funds import merkle
from funds.ledger_format import Verdict, verify_file
from funds.signed_note import Checkpoint, NoteError, Verifier, open_checkpoint, parse_verifier

Fetch = Callable[[str], bytes]
MAX_RESPONSE = 1 << 20


class WitnessError(Exception):
    """The log misbehaved (exit 1), or it could not be checked at all (exit 2)."""

    def __init__(self, message: str, misbehaved: bool = True) -> None:
        super().__init__(message)
        self.misbehaved = misbehaved


@dataclass(frozen=True)
class Accepted:
    old: Checkpoint | None
    new: Checkpoint

    def __str__(self) -> str:
        if self.old is None:
            return f"accepted the first checkpoint: size {self.new.size}"
        if self.old.size == self.new.size:
            return f"unchanged: size {self.new.size}, same root"
        return (f"accepted: size {self.old.size} → {self.new.size}, consistency proof "
                f"verified")


def http_fetch(base_url: str, timeout: float = 30) -> Fetch:
    base = base_url.rstrip("/")

    def fetch(path: str) -> bytes:
        try:
            with urllib.request.urlopen(base + path, timeout=timeout) as response:  # noqa: S310
                body = response.read(MAX_RESPONSE + 1)
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace").strip()
            raise WitnessError(f"{base + path} answered {exc.code}: {detail}",
                               misbehaved=False) from None
        except (urllib.error.URLError, OSError) as exc:
            raise WitnessError(f"cannot reach {base + path}: {exc}", misbehaved=False) from None
        if len(body) > MAX_RESPONSE:
            raise WitnessError(f"{base + path} answered more than {MAX_RESPONSE} bytes")
        return body
    return fetch


def fetch_consistency(fetch: Fetch, old: int, new: int) -> list[bytes]:
    body = fetch(f"/disclosure/proof/consistency?from={old}&to={new}")
    try:
        proof = json.loads(body)
        if proof["from"] != old or proof["to"] != new:
            raise ValueError("for other sizes")
        path = [bytes.fromhex(h) for h in proof["path"]]
        if any(len(h) != 32 for h in path):
            raise ValueError("a hash is not 32 bytes")
    except (ValueError, KeyError, TypeError) as exc:
        raise WitnessError(f"the consistency proof {old}→{new} is malformed: {exc}") from None
    return path


def check_extends(fetch: Fetch, old: Checkpoint, new: Checkpoint) -> None:
    """Raise WitnessError unless `new` is a consistent extension of `old`."""
    if new.origin != old.origin:
        raise WitnessError(f"the log's origin changed from {old.origin!r} to {new.origin!r}")
    if new.size < old.size:
        raise WitnessError(f"the log went backwards: size {new.size} after {old.size}")
    if new.size == old.size:
        if new.root != old.root:
            raise WitnessError(f"the log forked: two different roots for size {new.size}")
        return
    if old.size == 0:
        return  # everything extends the empty tree
    path = fetch_consistency(fetch, old.size, new.size)
    if not merkle.verify_consistency(old.size, new.size, old.root, new.root, path):
        raise WitnessError(f"the log forked: size {new.size} does not extend the size "
                           f"{old.size} it signed before (consistency proof fails)")


def _load_state(path: Path) -> dict | None:
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(state, dict) or not isinstance(state.get("key"), str) \
                or not isinstance(state.get("checkpoint"), str):
            raise ValueError
        return state
    except (ValueError, UnicodeDecodeError):
        raise WitnessError(f"state file {path} is not a witness state (JSON with key and "
                           f"checkpoint)", misbehaved=False) from None


def _save_state(path: Path, key: str, note: str) -> None:
    """Write atomically: a crash leaves the old state or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"key": key, "checkpoint": note}, handle, ensure_ascii=False)
        handle.write("\n")
    os.replace(tmp, path)


def witness(fetch: Fetch, state_path: Path, vkey: str | None = None) -> Accepted:
    """One witness run. The first run needs the verifier key; later runs keep the one
    recorded in the state (a different key given later is refused, not silently used)."""
    state = _load_state(state_path)
    if state is not None and vkey is not None and vkey.strip() != state["key"]:
        raise WitnessError("the key given differs from the one this witness recorded",
                           misbehaved=False)
    key = state["key"] if state is not None else vkey
    if key is None:
        raise WitnessError("the first run needs --key (the verifier key on "
                           "/disclosure/verify)", misbehaved=False)
    try:
        verifier = parse_verifier(key)
    except NoteError as exc:
        raise WitnessError(f"bad verifier key: {exc}", misbehaved=False) from None
    old = None
    if state is not None:
        try:
            old = open_checkpoint(state["checkpoint"], verifier)
        except NoteError as exc:
            raise WitnessError(f"the recorded checkpoint does not verify: {exc}",
                               misbehaved=False) from None
    note = fetch("/disclosure/checkpoint")
    try:
        new = open_checkpoint(note, verifier)
    except NoteError as exc:
        raise WitnessError(f"the log's checkpoint is not validly signed: {exc}") from None
    if old is not None:
        check_extends(fetch, old, new)
    if old is None or new.size > old.size:
        _save_state(state_path, str(verifier), note.decode("utf-8"))
    return Accepted(old, new)


def verify_file_checkpoint(path: str, note: bytes, verifier: Verifier) -> Verdict:
    """The chain of the file, and the Merkle root of its first `size` transactions against
    a signed checkpoint."""
    try:
        checkpoint = open_checkpoint(note, verifier)
    except NoteError as exc:
        return Verdict(False, 0, None, f"checkpoint: {exc}")
    builder = merkle.RootBuilder()

    def observe(txn: dict) -> None:
        if builder.size < checkpoint.size:
            builder.push(merkle.leaf_hash(bytes.fromhex(txn["hash"])))

    verdict = verify_file(path, observe)
    if not verdict.ok:
        return verdict
    if builder.size < checkpoint.size:
        return Verdict(False, verdict.count, None,
                       f"the file holds {builder.size} transactions; the checkpoint signs "
                       f"{checkpoint.size}")
    if builder.root() != checkpoint.root:
        return Verdict(False, verdict.count, None,
                       f"the first {checkpoint.size} transactions do not have the signed "
                       f"root: this file is not the ledger the checkpoint signed")
    return Verdict(True, verdict.count, None,
                   f"and the first {checkpoint.size} match the checkpoint signed by "
                   f"{verifier.name}")
