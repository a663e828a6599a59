"""Giving (issue 9): how each gift is being paid (gift_payment) and its stored receipt
(gift_receipt), 配捐 match offers (match_offer, match_offer_need, match_share), and every payment provider event by id (payment_event).

Revision ID: 0022
Revises: 0021
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0022"
down_revision = "0021"
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


    _upgrade_match_offers()


def _upgrade_match_offers() -> None:
    op.create_table(
        "match_offer",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("enterprise_id", sa.Integer(), sa.ForeignKey("enterprise.id"), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("ratio_pct", sa.Integer(), nullable=False),
        sa.Column("per_gift_cap", sa.BigInteger(), nullable=True),
        sa.Column("per_need_cap", sa.BigInteger(), nullable=True),
        sa.Column("total_cap", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.Column("starts_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("ends_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("programme_ids", sa.JSON(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("created_by", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("approved_by", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("ratio_pct > 0 AND ratio_pct <= 1000", name="match_offer_ratio"),
        sa.CheckConstraint("total_cap > 0", name="match_offer_total_cap"),
        sa.CheckConstraint("used >= 0 AND used <= total_cap", name="match_offer_within_cap"),
        sa.CheckConstraint("per_gift_cap IS NULL OR per_gift_cap > 0",
                           name="match_offer_gift_cap"),
        sa.CheckConstraint("per_need_cap IS NULL OR per_need_cap > 0",
                           name="match_offer_need_cap"),
        sa.CheckConstraint("ends_at > starts_at", name="match_offer_window"),
        sa.CheckConstraint("status IN ('pending','approved','rejected','closed')",
                           name="match_offer_status"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_match_offer_enterprise_id", "match_offer", ["enterprise_id"])
    op.create_table(
        "match_offer_need",
        sa.Column("offer_id", sa.Integer(), sa.ForeignKey("match_offer.id"), primary_key=True),
        sa.Column("need_id", sa.Integer(), sa.ForeignKey("need.id"), primary_key=True),
        sa.Column("cap", sa.BigInteger(), nullable=False),
        sa.Column("used", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("used >= 0 AND used <= cap", name="match_need_within_cap"),
    )
    op.create_table(
        "match_share",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("offer_id", sa.Integer(), sa.ForeignKey("match_offer.id"), nullable=False),
        sa.Column("donation_id", sa.Integer(), sa.ForeignKey("donation.id"), nullable=False),
        sa.Column("need_id", sa.Integer(), sa.ForeignKey("need.id"), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("ledger_seq", sa.Integer(), sa.ForeignKey("ledger_txn.seq"), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    )
    for column in ("offer_id", "donation_id", "need_id"):
        op.create_index(f"ix_match_share_{column}", "match_share", [column])


def downgrade() -> None:
    op.drop_table("match_share")
    op.drop_table("match_offer_need")
    op.drop_index("ix_match_offer_enterprise_id", table_name="match_offer")
    op.drop_table("match_offer")
    op.drop_table("payment_event")
    op.drop_table("gift_receipt")
    op.drop_index("ix_gift_payment_status", table_name="gift_payment")
    op.drop_table("gift_payment")
