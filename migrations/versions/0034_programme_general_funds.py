"""A programme's general fund (项目总基金): a community-fund row flagged `programme_general`,
at most one per programme, so gifts "to the programme" go through the same fund ledger
account, balance mirror and receipts as gifts to a community fund.

Revision ID: 0034
Revises: 0030
"""
import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("communityfund") as batch:
        batch.add_column(sa.Column("programme_general", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_index("ux_communityfund_programme_general", "communityfund", ["programme_id"],
                    unique=True, postgresql_where=sa.text("programme_general"),
                    sqlite_where=sa.text("programme_general"))


def downgrade() -> None:
    op.drop_index("ux_communityfund_programme_general", "communityfund")
    with op.batch_alter_table("communityfund") as batch:
        batch.drop_column("programme_general")
