"""The transparency log: the ledger's Merkle tree (complete subtrees) and signed checkpoints.

An existing ledger's tree is built here, so the first append after the upgrade does not
have to (funds.tree_store would catch up by itself, but inside somebody's request).

Revision ID: 0013
Revises: 0012
"""
import hashlib

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_tree_node",
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ledger_checkpoint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("key_name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("issued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("size >= 0", name="checkpoint_size_nonneg"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("size"),
    )
    _build_tree()


LEVEL_SHIFT = 48  # as funds.tlog_models: node id = level << 48 | index


def _build_tree(batch: int = 20_000) -> None:
    """RFC 9162 complete subtrees over ledger_txn.hash in seq order (leaf = the 32 bytes)."""
    conn = op.get_bind()
    nodes = sa.table("ledger_tree_node", sa.column("id", sa.BigInteger),
                     sa.column("hash", sa.LargeBinary))
    stack, rows, index = [], [], 0  # stack: (level, index, hash), levels decreasing
    result = conn.execute(sa.text("SELECT hash FROM ledger_txn ORDER BY seq"))
    for (txn_hash,) in result:
        node = (0, index, hashlib.sha256(b"\x00" + bytes.fromhex(txn_hash)).digest())
        rows.append(node)
        while stack and stack[-1][0] == node[0]:
            level, left_index, left = stack.pop()
            node = (level + 1, left_index >> 1,
                    hashlib.sha256(b"\x01" + left + node[2]).digest())
            rows.append(node)
        stack.append(node)
        index += 1
        if len(rows) >= batch:
            conn.execute(nodes.insert(), [{"id": lv << LEVEL_SHIFT | i, "hash": h}
                                          for lv, i, h in rows])
            rows = []
    if rows:
        conn.execute(nodes.insert(), [{"id": lv << LEVEL_SHIFT | i, "hash": h}
                                      for lv, i, h in rows])


def downgrade() -> None:
    op.drop_table("ledger_checkpoint")
    op.drop_table("ledger_tree_node")
