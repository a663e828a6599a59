"""C2SP signed-note and tlog-checkpoint with Ed25519 (the `cryptography` package), with no
database. Keys use the Go sumdb/note encodings, so the same key strings work with
golang.org/x/mod/sumdb/note and other C2SP tools:

    signer key   PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 ‖ 32-byte seed)>
    verifier key <name>+<key id hex>+<base64(0x01 ‖ 32-byte public key)>
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from funds.merkle import EMPTY_ROOT

ED25519 = b"\x01"
DASH = "\u2014"  # signature lines start with an em dash and a space
NAME = re.compile(r"^[^\s+]+$")  # a key name: non-empty, no spaces, no '+'
MAX_NOTE = 1 << 16


class NoteError(ValueError):
    """A key, note or checkpoint that does not parse or does not verify."""


def key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + public).digest()[:4]


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what} is not valid base64") from None


@dataclass(frozen=True)
class Verifier:
    name: str
    public: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.public)

    def __str__(self) -> str:
        return (f"{self.name}+{self.id.hex()}+"
                f"{base64.b64encode(ED25519 + self.public).decode()}")

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public).verify(signature, message)
            return True
        except (InvalidSignature, ValueError):
            return False


def parse_verifier(vkey: str) -> Verifier:
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3 or not NAME.match(parts[0]) or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
        raise NoteError("verifier key should be <name>+<8 hex digits>+<base64 key>")
    raw = _b64decode(parts[2], "the verifier key")
    if len(raw) != 33 or raw[:1] != ED25519:
        raise NoteError("verifier key is not an Ed25519 key (0x01 and 32 bytes)")
    verifier = Verifier(parts[0], raw[1:])
    if verifier.id.hex() != parts[1]:
        raise NoteError("verifier key's id does not match its name and key")
    return verifier


@dataclass(frozen=True)
class Signer:
    name: str
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Signer:
        if not NAME.match(name):
            raise NoteError(f"key name {name!r} must be non-empty without spaces or '+'")
        return cls(name, Ed25519PrivateKey.generate())

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, self.private.public_key().public_bytes(
            Encoding.Raw, PublicFormat.Raw))

    def encode(self) -> str:
        seed = self.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        return (f"PRIVATE+KEY+{self.name}+{self.verifier.id.hex()}+"
                f"{base64.b64encode(ED25519 + seed).decode()}")

    def sign_note(self, text: str) -> str:
        """The note followed by a blank line and this key's signature line."""
        if not text.endswith("\n"):
            raise NoteError("a note's text ends with a newline")
        signature = self.private.sign(text.encode())
        blob = base64.b64encode(self.verifier.id + signature).decode()
        return f"{text}\n{DASH} {self.name} {blob}\n"


def parse_signer(skey: str) -> Signer:
    parts = skey.strip().split("+", 4)  # base64 may contain "+"
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not NAME.match(parts[2]):
        raise NoteError("signing key should be PRIVATE+KEY+<name>+<key id>+<base64 key>")
    raw = _b64decode(parts[4], "the signing key")
    if len(raw) != 33 or raw[:1] != ED25519:
        raise NoteError("signing key is not an Ed25519 key (0x01 and a 32-byte seed)")
    signer = Signer(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
    if signer.verifier.id.hex() != parts[3]:
        raise NoteError("signing key's id does not match its name and key")
    return signer


def open_note(note: str | bytes, verifier: Verifier) -> str:
    """The text of a signed note once `verifier`'s signature on it checks; NoteError
    otherwise. Other keys' signatures are ignored, as C2SP says."""
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE:
            raise NoteError("note is too large")
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("note is not UTF-8") from None
    if len(note) > MAX_NOTE:
        raise NoteError("note is too large")
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not text or not signatures.endswith("\n"):
        raise NoteError("note has no signature block (a blank line, then signature lines)")
    text += "\n"
    for line in signatures[:-1].split("\n"):
        prefix = f"{DASH} {verifier.name} "
        if not line.startswith(DASH + " "):
            raise NoteError("a signature line must start with an em dash and a space")
        if not line.startswith(prefix):
            continue
        blob = _b64decode(line[len(prefix):], "the signature")
        if len(blob) == 68 and blob[:4] == verifier.id and verifier.verify(
                text.encode(), blob[4:]):
            return text
        raise NoteError(f"the signature by {verifier.name} does not verify")
    raise NoteError(f"note is not signed by {verifier.name}")


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{base64.b64encode(self.root).decode()}\n"


def parse_checkpoint_text(text: str) -> Checkpoint:
    lines = text.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise NoteError("a checkpoint has an origin, a size and a root hash, one per line")
    origin, size, root_b64 = lines[0], lines[1], lines[2]
    if not origin:
        raise NoteError("the checkpoint's origin line is empty")
    if not re.fullmatch(r"0|[1-9][0-9]{0,18}", size):
        raise NoteError("the checkpoint's size is not a decimal number")
    root = _b64decode(root_b64, "the checkpoint's root hash")
    if len(root) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    if int(size) == 0 and root != EMPTY_ROOT:
        raise NoteError("an empty tree's root must be SHA-256 of nothing")
    return Checkpoint(origin, int(size), root)


def open_checkpoint(note: str | bytes, verifier: Verifier, origin: str | None = None
                    ) -> Checkpoint:
    """Verify the signature, then parse: a checkpoint one can trust, or NoteError."""
    checkpoint = parse_checkpoint_text(open_note(note, verifier))
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"checkpoint is for log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint
