"""Matching in the platform: pledge periods and tranches, fund four-eyes and fast path,
proposal and review fields on transfers, the beneficiary ID hash.

Revision ID: 0023
Revises: 0014
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0023"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pledge") as batch:
        batch.add_column(sa.Column("period_start", sa.Date(), nullable=True))
        batch.add_column(sa.Column("period_end", sa.Date(), nullable=True))
    op.create_table(
        "pledge_tranche",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pledge_id", sa.Integer(), sa.ForeignKey("pledge.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("paid_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("ledger_seq", sa.Integer(), sa.ForeignKey("ledger_txn.seq"), nullable=True),
        sa.CheckConstraint("amount > 0", name="tranche_amount_positive"),
        sa.UniqueConstraint("pledge_id", "seq", name="tranche_seq_once"),
    )
    op.create_index("ix_pledge_tranche_pledge_id", "pledge_tranche", ["pledge_id"])
    with op.batch_alter_table("communityfund") as batch:
        batch.add_column(sa.Column("always_four_eyes", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("fast_path_limit", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("allocation") as batch:
        batch.add_column(sa.Column("requested_by", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("why", sa.Text(), nullable=False, server_default=""))
        batch.add_column(sa.Column("expires_at", sqlmodel.sql.sqltypes.UTCDateTime(),
                                   nullable=True))
        batch.add_column(sa.Column("review_due", sqlmodel.sql.sqltypes.UTCDateTime(),
                                   nullable=True))
        batch.add_column(sa.Column("reviewed_at", sqlmodel.sql.sqltypes.UTCDateTime(),
                                   nullable=True))
        batch.add_column(sa.Column("reviewed_by", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_allocation_requested_by_user", "user", ["requested_by"],
                                 ["id"])
        batch.create_foreign_key("fk_allocation_reviewed_by_user", "user", ["reviewed_by"],
                                 ["id"])
    with op.batch_alter_table("beneficiary_private") as batch:
        batch.add_column(sa.Column("id_hash", sqlmodel.sql.sqltypes.AutoString(length=64),
                                   nullable=True))
    # Not unique: another organisation's beneficiary with the same ID number is flagged for
    # the verifier (needs/duplicate_check.py), who may allow it as the same person.
    op.create_index("ix_beneficiary_private_id_hash", "beneficiary_private", ["id_hash"])


def downgrade() -> None:
    op.drop_index("ix_beneficiary_private_id_hash", "beneficiary_private")
    with op.batch_alter_table("beneficiary_private") as batch:
        batch.drop_column("id_hash")
    with op.batch_alter_table("allocation") as batch:
        batch.drop_constraint("fk_allocation_reviewed_by_user", type_="foreignkey")
        batch.drop_constraint("fk_allocation_requested_by_user", type_="foreignkey")
        for column in ("reviewed_by", "reviewed_at", "review_due", "expires_at", "why",
                       "requested_by"):
            batch.drop_column(column)
    with op.batch_alter_table("communityfund") as batch:
        batch.drop_column("fast_path_limit")
        batch.drop_column("always_four_eyes")
    op.drop_index("ix_pledge_tranche_pledge_id", "pledge_tranche")
    op.drop_table("pledge_tranche")
    with op.batch_alter_table("pledge") as batch:
        batch.drop_column("period_end")
        batch.drop_column("period_start")
