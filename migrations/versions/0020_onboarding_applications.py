"""Onboarding applications of organisations and enterprises (USCC, certificate, contact,
review by an admin with a reason).

Revision ID: 0020
Revises: 0022
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0020"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "onboarding_application",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("organisation_id", sa.Integer(), sa.ForeignKey("organisation.id"),
                  nullable=True, unique=True),
        sa.Column("enterprise_id", sa.Integer(), sa.ForeignKey("enterprise.id"),
                  nullable=True, unique=True),
        sa.Column("applicant_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("uscc", sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False,
                  unique=True),
        sa.Column("certificate_sha256", sqlmodel.sql.sqltypes.AutoString(length=64),
                  nullable=False),
        sa.Column("certificate_type", sqlmodel.sql.sqltypes.AutoString(length=40),
                  nullable=False),
        sa.Column("contact_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("contact_phone", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("contact_email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), sa.ForeignKey("user.id"), nullable=True),
        sa.Column("reviewed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('organisation','enterprise')", name="application_kind"),
        sa.CheckConstraint("status IN ('pending','approved','rejected')",
                           name="application_status"),
        sa.CheckConstraint("(kind = 'organisation' AND organisation_id IS NOT NULL AND "
                           "enterprise_id IS NULL) OR (kind = 'enterprise' AND enterprise_id "
                           "IS NOT NULL AND organisation_id IS NULL)",
                           name="application_target"),
        sa.CheckConstraint("status = 'pending' OR (reviewed_by IS NOT NULL AND "
                           "reviewed_at IS NOT NULL)", name="application_reviewed"),
        sa.CheckConstraint("status <> 'rejected' OR length(reason) > 0",
                           name="application_reject_reason"),
    )
    op.create_index("ix_onboarding_application_applicant_id", "onboarding_application",
                    ["applicant_id"])
    op.create_index("ix_onboarding_application_status", "onboarding_application", ["status"])


def downgrade() -> None:
    op.drop_index("ix_onboarding_application_status", "onboarding_application")
    op.drop_index("ix_onboarding_application_applicant_id", "onboarding_application")
    op.drop_table("onboarding_application")
