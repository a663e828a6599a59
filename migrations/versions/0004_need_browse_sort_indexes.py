"""Indexes for the other sort orders of /needs (newest, amount, deadline).

0002 covers the default order (urgency, posted_at, id) and the region prefix; these let
"newest", "amount" and "deadline" (ASC NULLS LAST, the PostgreSQL default order of an index)
read the first page from an index instead of sorting every public need.

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_need_browse_posted", "need", ["posted_at", "id"])
    op.create_index("ix_need_browse_amount", "need", ["amount", "id"])
    op.create_index("ix_need_browse_deadline", "need", ["deadline", "id"])


def downgrade() -> None:
    op.drop_index("ix_need_browse_deadline", table_name="need")
    op.drop_index("ix_need_browse_amount", table_name="need")
    op.drop_index("ix_need_browse_posted", table_name="need")
