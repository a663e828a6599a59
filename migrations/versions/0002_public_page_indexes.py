"""Indexes for the public pages at platform size (bench/web.py).

- need (urgency, posted_at, id): /needs lists public needs ORDER BY these three DESC; with
  100k needs the planner otherwise sorts every row for each page (~100 ms); with the index it
  reads the first rows backwards, in order (<1 ms).
- need (region varchar_pattern_ops) on PostgreSQL: the region filter is a whole-segment
  prefix (`region = :p OR region LIKE :p || '/%'`); a pattern-ops index serves LIKE 'prefix%'
  whatever the database collation. (On SQLite a plain index of the same name.)

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_need_public_order", "need", ["urgency", "posted_at", "id"])
    op.create_index("ix_need_region_prefix", "need", ["region"],
                    postgresql_ops={"region": "varchar_pattern_ops"})


def downgrade() -> None:
    op.drop_index("ix_need_region_prefix", table_name="need")
    op.drop_index("ix_need_public_order", table_name="need")
