"""Tables of the transparency log: the Merkle tree's complete subtrees, and every signed
checkpoint ever issued. Both are append-only, like the ledger they cover."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, LargeBinary, Text
from sqlmodel import Field, SQLModel

from core.clock import now

LEVEL_SHIFT = 48  # node id = level << 48 | index: one integer key, room for 2^48 leaves


class LedgerTreeNode(SQLModel, table=True):
    """The hash of one complete subtree: 2^level leaves starting at leaf index·2^level.
    Level 0 holds the leaf hashes. Appending a leaf adds it and every subtree it
    completes (O(log n), one node on average)."""

    __tablename__ = "ledger_tree_node"
    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class LedgerCheckpoint(SQLModel, table=True):
    """A signed tree head (C2SP tlog-checkpoint in a signed note), kept forever. A size is
    signed at most once: two different roots for one size would be a fork."""

    __tablename__ = "ledger_checkpoint"
    __table_args__ = (CheckConstraint("size >= 0", name="checkpoint_size_nonneg"),)
    id: int | None = Field(default=None, primary_key=True)
    size: int = Field(sa_type=BigInteger, unique=True)
    root: str = Field(max_length=64)  # hex, for reading; the note carries it in base64
    origin: str = Field(max_length=200)
    key_name: str = Field(max_length=200)
    note: str = Field(sa_column=Column(Text, nullable=False))
    issued_at: datetime = Field(default_factory=now)
