"""One data version for every cache (core.data_version): a single counter row, bumped by
every unit of work that wrote anything.

Revision ID: 0010
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("data_version",
                    sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("version", sa.BigInteger(), nullable=False))
    op.execute("INSERT INTO data_version (id, version) VALUES (1, 1)")


def downgrade() -> None:
    op.drop_table("data_version")
