"""Indexes for the 阳光慈善 disclosure pages.

- ledger_posting (account, seq, amount): an account's money in/out/balance and its newest
  transactions (fund, project and enterprise pages) are read from the index alone, newest
  first, instead of visiting every posting of the account in the heap.
- ledger_txn (kind, seq): the ledger page filtered by kind, keyset-paged newest first.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ledger_posting_account_seq", "ledger_posting", ["account", "seq", "amount"])
    op.create_index("ix_ledger_txn_kind_seq", "ledger_txn", ["kind", "seq"])


def downgrade() -> None:
    op.drop_index("ix_ledger_txn_kind_seq", table_name="ledger_txn")
    op.drop_index("ix_ledger_posting_account_seq", table_name="ledger_posting")
