"""A pledge tranche is paid by bank transfer like a gift: it carries the transfer reference
code (SL-XXXX-XXXX) the enterprise quotes, unique, so staff (and a statement line) find
exactly one tranche.

Revision ID: 0037
Revises: 0036
"""
import sqlalchemy as sa
from alembic import op

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pledge_tranche") as batch:
        batch.add_column(sa.Column("reference", sa.String(length=120), nullable=True))
    op.create_index("ux_pledge_tranche_reference", "pledge_tranche", ["reference"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_pledge_tranche_reference", "pledge_tranche")
    with op.batch_alter_table("pledge_tranche") as batch:
        batch.drop_column("reference")
