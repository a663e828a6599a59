"""Search in PostgreSQL: one `need_search` row per public need (normalized texts, pinyin,
initials; a text array of grams with a GIN index and the pinyin with a pg_trgm GIN index),
kept current by the services' transactions (needs.search_pg), backfilled here (the indexes
are built after the backfill: much faster than growing them row by row).

On SQLite the table is created empty, with plain indexes (the in-memory index serves search
there); nothing is backfilled.

Revision ID: 0038
Revises: 0037
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

_GRAMS = sa.JSON().with_variant(postgresql.ARRAY(sa.Text()), "postgresql")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "need_search",
        sa.Column("need_id", sa.Integer(), sa.ForeignKey("need.id", ondelete="CASCADE"),
                  primary_key=True),
        *(sa.Column(name, sa.Text(), nullable=False) for name in (
            "title", "meta", "story", "title_py", "title_in", "meta_py", "meta_in")),
        sa.Column("grams", _GRAMS, nullable=False),
        sa.Column("tgrams", _GRAMS, nullable=False),
        sa.Column("py", sa.Text(), nullable=False),
    )
    if postgres:
        from needs import search_pg

        search_pg.rebuild(op.get_bind())
        for column in ("grams", "tgrams"):
            op.create_index(f"ix_need_search_{column}", "need_search", [column],
                            postgresql_using="gin")
        op.create_index("ix_need_search_py", "need_search", ["py"], postgresql_using="gin",
                        postgresql_ops={"py": "gin_trgm_ops"})
    else:  # the in-memory index serves SQLite: an empty table, like the models
        for column in ("grams", "tgrams", "py"):
            op.create_index(f"ix_need_search_{column}", "need_search", [column])


def downgrade() -> None:
    for column in ("py", "tgrams", "grams"):
        op.drop_index(f"ix_need_search_{column}", "need_search")
    op.drop_table("need_search")
