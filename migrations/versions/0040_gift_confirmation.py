"""The queue of gift confirmations applied in batches (issue 9: donors.gift_batches).

Revision ID: 0040
Revises: 0039
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

_T = sqlmodel.sql.sqltypes.UTCDateTime

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gift_confirmation",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("payment_id", sa.Integer(), sa.ForeignKey("gift_payment.id"), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("queued_at", _T(), nullable=False),
        sa.Column("applied_at", _T(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.UniqueConstraint("payment_id"),
    )
    op.create_index("ix_gift_confirmation_outcome", "gift_confirmation", ["outcome"])


def downgrade() -> None:
    op.drop_index("ix_gift_confirmation_outcome", table_name="gift_confirmation")
    op.drop_table("gift_confirmation")
