"""Money that arrives after its hold lapsed and the wish went to someone else: the donor's
choice made when giving (`if_taken`: refund, or redirect to the programme's general fund),
and the refund that sends it back (`refunded`, with its reference and time).

Revision ID: 0036
Revises: 0035
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

OLD_STATES = "status IN ('awaiting','confirmed','expired','late')"
NEW_STATES = "status IN ('awaiting','confirmed','expired','late','refunded')"


def upgrade() -> None:
    with op.batch_alter_table("gift_payment") as batch:
        batch.drop_constraint("gift_payment_status", type_="check")
        batch.add_column(sa.Column("if_taken", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False,
                                   server_default="refund"))
        batch.add_column(sa.Column("refund_ref", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))
        batch.add_column(sa.Column("refunded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table("gift_payment") as batch:
        batch.create_check_constraint("gift_payment_status", NEW_STATES)
        batch.create_check_constraint("gift_payment_if_taken", "if_taken IN ('refund','redirect')")


def downgrade() -> None:
    op.execute("UPDATE gift_payment SET status = 'late' WHERE status = 'refunded'")
    with op.batch_alter_table("gift_payment") as batch:
        batch.drop_constraint("gift_payment_if_taken", type_="check")
        batch.drop_constraint("gift_payment_status", type_="check")
        batch.drop_column("refunded_at")
        batch.drop_column("refund_ref")
        batch.drop_column("if_taken")
    with op.batch_alter_table("gift_payment") as batch:
        batch.create_check_constraint("gift_payment_status", OLD_STATES)
