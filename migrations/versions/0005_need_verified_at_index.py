"""Index need.verified_at: the search index's freshness check reads max(verified_at) on every
search (at the time), an index lookup instead of a scan of every need.

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_need_verified_at", "need", ["verified_at"])


def downgrade() -> None:
    op.drop_index("ix_need_verified_at", table_name="need")
