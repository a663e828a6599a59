"""Search in PostgreSQL: one `need_search` row per public need (normalized texts, pinyin,
initials and three pg_trgm key columns with GIN trigram indexes), kept current by the
services' transactions (needs.search_pg), backfilled here.

On SQLite the table is created empty, with plain indexes (the in-memory index serves search
there); nothing is backfilled.

Revision ID: 0038
Revises: 0037
"""
import sqlalchemy as sa
from alembic import op

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

_KEYS = ("k_text", "k_py", "k_in")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "need_search",
        sa.Column("need_id", sa.Integer(), sa.ForeignKey("need.id", ondelete="CASCADE"),
                  primary_key=True),
        *(sa.Column(name, sa.Text(), nullable=False) for name in (
            "title", "meta", "story", "title_py", "title_in", "meta_py", "meta_in", *_KEYS)),
    )
    for column in _KEYS:
        if postgres:
            op.create_index(f"ix_need_search_{column}", "need_search", [column],
                            postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})
        else:
            op.create_index(f"ix_need_search_{column}", "need_search", [column])
    if postgres:
        from needs import search_pg

        search_pg.rebuild(op.get_bind())


def downgrade() -> None:
    for column in _KEYS:
        op.drop_index(f"ix_need_search_{column}", "need_search")
    op.drop_table("need_search")
