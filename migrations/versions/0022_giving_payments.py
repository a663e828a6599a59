"""Giving (issue 9): how each gift is being paid (gift_payment) and its stored receipt
(gift_receipt), and every payment provider event by id (payment_event).

Revision ID: 0022
Revises: 0012
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0022"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gift_payment",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("donation_id", sa.Integer(), sa.ForeignKey("donation.id"), nullable=False),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("payer_name", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("contact", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("hold_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("confirmed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("confirmed_by", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("status IN ('awaiting','confirmed','expired','late')",
                           name="gift_payment_status"),
        sa.CheckConstraint("provider IN ('bank_transfer','stripe')",
                           name="gift_payment_provider"),
        sa.UniqueConstraint("donation_id"),
        sa.UniqueConstraint("reference"),
    )
    op.create_index("ix_gift_payment_status", "gift_payment", ["status"])
    op.create_table(
        "gift_receipt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("donation_id", sa.Integer(), sa.ForeignKey("donation.id"), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("donation_id"),
        sa.UniqueConstraint("number"),
    )
    op.create_table(
        "payment_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("provider", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("source_type", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("gift_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("received_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("event_id"),
    )


def downgrade() -> None:
    op.drop_table("payment_event")
    op.drop_table("gift_receipt")
    op.drop_index("ix_gift_payment_status", table_name="gift_payment")
    op.drop_table("gift_payment")
