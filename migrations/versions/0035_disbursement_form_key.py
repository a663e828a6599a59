"""A disbursement recorded from the organisation's page carries the form's one-time key,
unique, so the same form sent twice records one payout.

Revision ID: 0035
Revises: 0033
"""
import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("disbursement") as batch:
        batch.add_column(sa.Column("form_key", sa.String(length=64), nullable=True))
    op.create_index("ux_disbursement_form_key", "disbursement", ["form_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_disbursement_form_key", "disbursement")
    with op.batch_alter_table("disbursement") as batch:
        batch.drop_column("form_key")
