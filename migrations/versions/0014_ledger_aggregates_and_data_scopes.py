"""Ledger totals kept up to date on append (funds.ledger_aggregates), filled here from the
existing postings; and per-scope data versions (core.data_version.DataScope) for caches
that are invalidated locally.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from funds.ledger_aggregates import rebuild_statements

    op.create_table("ledger_account_total",
                    sa.Column("account", sa.String(60), primary_key=True),
                    sa.Column("money_in", sa.BigInteger(), nullable=False),
                    sa.Column("money_out", sa.BigInteger(), nullable=False),
                    sa.Column("first_seq", sa.Integer(), nullable=False),
                    sa.Column("last_seq", sa.Integer(), nullable=False))
    op.create_table("ledger_month_total",
                    sa.Column("month", sa.String(7), primary_key=True),
                    sa.Column("kind", sa.String(30), primary_key=True),
                    sa.Column("account_type", sa.String(20), primary_key=True),
                    sa.Column("positive", sa.BigInteger(), nullable=False),
                    sa.Column("net", sa.BigInteger(), nullable=False),
                    sa.Column("txns", sa.Integer(), nullable=False))
    op.create_table("data_scope",
                    sa.Column("scope", sa.String(80), primary_key=True),
                    sa.Column("version", sa.BigInteger(), nullable=False))
    op.create_index("ix_data_scope_version", "data_scope", ["version"])
    for statement in rebuild_statements(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    op.drop_index("ix_data_scope_version", table_name="data_scope")
    op.drop_table("data_scope")
    op.drop_table("ledger_month_total")
    op.drop_table("ledger_account_total")
