"""Refunds and redirects of gifts on closed needs (gift_return), donors' notifications
(notification), and the provider's payment id a refund names (gift_payment).

Revision ID: 0033
Revises: 0032
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

_S = sqlmodel.sql.sqltypes.AutoString
_T = sqlmodel.sql.sqltypes.UTCDateTime


def upgrade() -> None:
    op.add_column("gift_payment", sa.Column("provider_payment_ref", _S(length=120),
                                            nullable=True))
    op.create_table(
        "gift_return",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("donation_id", sa.Integer(), sa.ForeignKey("donation.id"), nullable=False),
        sa.Column("need_id", sa.Integer(), sa.ForeignKey("need.id"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("cause", _S(length=20), nullable=False),
        sa.Column("status", _S(length=20), nullable=False),
        sa.Column("decide_by", _T(), nullable=False),
        sa.Column("choice", _S(length=20), nullable=False),
        sa.Column("target_need_id", sa.Integer(), sa.ForeignKey("need.id"), nullable=True),
        sa.Column("target_fund_id", sa.Integer(), sa.ForeignKey("communityfund.id"),
                  nullable=True),
        sa.Column("decided_at", _T(), nullable=True),
        sa.Column("decided_by", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("refund_ref", _S(length=120), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), sa.ForeignKey("ledger_txn.seq"), nullable=True),
        sa.Column("created_at", _T(), nullable=False),
        sa.CheckConstraint("status IN ('open','awaiting_refund','redirected','refunded',"
                           "'defaulted')", name="gift_return_status"),
        sa.CheckConstraint("choice IN ('','need','fund','refund','default')",
                           name="gift_return_choice"),
        sa.CheckConstraint("amount > 0", name="gift_return_amount_positive"),
        sa.CheckConstraint("status IN ('open','awaiting_refund') OR ledger_seq IS NOT NULL",
                           name="gift_return_done_has_txn"),
        sa.UniqueConstraint("donation_id"),
    )
    op.create_index("ix_gift_return_need_id", "gift_return", ["need_id"])
    op.create_index("ix_gift_return_status", "gift_return", ["status"])
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", _S(length=120), nullable=False),
        sa.Column("kind", _S(length=30), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("email", _S(length=200), nullable=False),
        sa.Column("locale", _S(length=10), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("link", _S(length=500), nullable=False),
        sa.Column("created_at", _T(), nullable=False),
        sa.Column("sent_at", _T(), nullable=True),
        sa.Column("read_at", _T(), nullable=True),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_notification_user_id", "notification", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_notification_user_id", table_name="notification")
    op.drop_table("notification")
    op.drop_index("ix_gift_return_status", table_name="gift_return")
    op.drop_index("ix_gift_return_need_id", table_name="gift_return")
    op.drop_table("gift_return")
    with op.batch_alter_table("gift_payment") as batch:
        batch.drop_column("provider_payment_ref")
