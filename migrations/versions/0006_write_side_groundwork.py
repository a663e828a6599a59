"""Write-side groundwork (issue 7): the job outbox.

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("func", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("args", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("enqueued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    )
    op.create_index("ix_job_outbox_enqueued_at", "job_outbox", ["enqueued_at"])


def downgrade() -> None:
    op.drop_index("ix_job_outbox_enqueued_at", table_name="job_outbox")
    op.drop_table("job_outbox")
