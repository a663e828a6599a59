"""The charity side: ID-number hashes and guardians of beneficiaries, consent records,
duplicate flags, the need's submission time and one-time keys of need forms.

Revision ID: 0021
Revises: 0023
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0021"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("beneficiary_private") as batch:
        batch.add_column(sa.Column("guardian", sqlmodel.sql.sqltypes.AutoString(length=60),
                                   nullable=False, server_default=""))
    with op.batch_alter_table("need") as batch:
        batch.add_column(sa.Column("submitted_at", sqlmodel.sql.sqltypes.UTCDateTime(),
                                   nullable=True))
    op.create_table(
        "beneficiary_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("given_by", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("relation", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("allow_photo", sa.Boolean(), nullable=False),
        sa.Column("allow_story", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("relation IN ('self','guardian','parent')",
                           name="consent_relation_known"),
        sa.ForeignKeyConstraint(["beneficiary_id"], ["beneficiary.id"]),
        sa.ForeignKeyConstraint(["recorded_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_beneficiary_consent_beneficiary_id", "beneficiary_consent",
                    ["beneficiary_id"])
    op.create_table(
        "duplicate_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("status IN ('open','allowed','duplicate')",
                           name="duplicate_flag_status_known"),
        sa.CheckConstraint("beneficiary_id <> other_id", name="duplicate_flag_not_self"),
        sa.ForeignKeyConstraint(["beneficiary_id"], ["beneficiary.id"]),
        sa.ForeignKeyConstraint(["other_id"], ["beneficiary.id"]),
        sa.ForeignKeyConstraint(["resolved_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_duplicate_flag_beneficiary_id", "duplicate_flag", ["beneficiary_id"])
    op.create_index("uq_duplicate_flag_pair", "duplicate_flag", ["beneficiary_id", "other_id"],
                    unique=True)
    op.create_table(
        "need_post_key",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["need_id"], ["need.id"]),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("need_post_key")
    op.drop_index("uq_duplicate_flag_pair", table_name="duplicate_flag")
    op.drop_index("ix_duplicate_flag_beneficiary_id", table_name="duplicate_flag")
    op.drop_table("duplicate_flag")
    op.drop_index("ix_beneficiary_consent_beneficiary_id", table_name="beneficiary_consent")
    op.drop_table("beneficiary_consent")
    with op.batch_alter_table("need") as batch:
        batch.drop_column("submitted_at")
    with op.batch_alter_table("beneficiary_private") as batch:
        batch.drop_column("guardian")
