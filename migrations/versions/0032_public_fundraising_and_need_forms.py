"""公募资格 on organisations (with the USCC shown on need pages), and what the project,
sponsorship and micro-grant forms record on a need: the fundraising plan's filing number and
the qualified organisation that holds it, the period, budget lines, school year, the
community fund a micro-grant asks, and who posted the need.

Revision ID: 0032
Revises: 0034
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0032"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.add_column(sa.Column("uscc", sqlmodel.sql.sqltypes.AutoString(length=18),
                                   nullable=True))
        batch.add_column(sa.Column("public_fundraising", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("public_fundraising_cert",
                                   sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False,
                                   server_default=""))
        batch.create_unique_constraint("uq_organisation_uscc", ["uscc"])
        batch.create_check_constraint(
            "organisation_qualified_has_cert",
            "NOT public_fundraising OR length(public_fundraising_cert) > 0")
    with op.batch_alter_table("need") as batch:
        batch.add_column(sa.Column("fundraising_filing",
                                   sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False,
                                   server_default=""))
        batch.add_column(sa.Column("fundraiser_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("period_start", sa.Date(), nullable=True))
        batch.add_column(sa.Column("period_end", sa.Date(), nullable=True))
        batch.add_column(sa.Column("budget", sa.JSON(), nullable=False,
                                   server_default="[]"))
        batch.add_column(sa.Column("school_year", sqlmodel.sql.sqltypes.AutoString(length=9),
                                   nullable=True))
        batch.add_column(sa.Column("fund_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("posted_by", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_need_fundraiser_id_organisation", "organisation",
                                 ["fundraiser_id"], ["id"])
        batch.create_foreign_key("fk_need_fund_id_communityfund", "communityfund",
                                 ["fund_id"], ["id"])
        batch.create_foreign_key("fk_need_posted_by_user", "user", ["posted_by"], ["id"])
        batch.create_check_constraint(
            "need_period_ordered",
            "period_start IS NULL OR period_end IS NULL OR period_end >= period_start")
        batch.create_check_constraint(
            "need_fundraiser_has_filing",
            "fundraiser_id IS NULL OR length(fundraising_filing) > 0")
        batch.create_index("ix_need_fund_id", ["fund_id"])


def downgrade() -> None:
    with op.batch_alter_table("need") as batch:
        batch.drop_index("ix_need_fund_id")
        batch.drop_constraint("need_fundraiser_has_filing", type_="check")
        batch.drop_constraint("need_period_ordered", type_="check")
        batch.drop_constraint("fk_need_posted_by_user", type_="foreignkey")
        batch.drop_constraint("fk_need_fund_id_communityfund", type_="foreignkey")
        batch.drop_constraint("fk_need_fundraiser_id_organisation", type_="foreignkey")
        for column in ("posted_by", "fund_id", "school_year", "budget", "period_end",
                       "period_start", "fundraiser_id", "fundraising_filing"):
            batch.drop_column(column)
    with op.batch_alter_table("organisation") as batch:
        batch.drop_constraint("organisation_qualified_has_cert", type_="check")
        batch.drop_constraint("uq_organisation_uscc", type_="unique")
        for column in ("public_fundraising_cert", "public_fundraising", "uscc"):
            batch.drop_column(column)
