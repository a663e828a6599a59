"""The ledger tables refuse UPDATE and DELETE at the database, so a correction can only be a
new (reversing) transaction, whatever code or console issues the statement.

PostgreSQL: a row trigger raising an exception (TRUNCATE, which the test fixture uses to
empty a database, is a different statement and still works). SQLite: BEFORE triggers that
RAISE(ABORT). Someone with DDL rights can drop the triggers; `drop`/`create` exist for the
test helper that empties tables and the tests that tamper on purpose to prove the hash
chain catches it — the chain, not the trigger, is what the public relies on."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

TABLES = ("ledger_txn", "ledger_posting")
MESSAGE = "the ledger is append-only: write a reversing transaction instead"

_PG_FUNCTION = f"""
CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '{MESSAGE} (% on %)', TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$"""


def create_sql(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [_PG_FUNCTION] + [
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION ledger_append_only()" for table in TABLES]
    return [f"CREATE TRIGGER {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
            for table in TABLES for op in ("UPDATE", "DELETE")]


def drop_sql(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}" for table in TABLES] + [
            "DROP FUNCTION IF EXISTS ledger_append_only()"]
    return [f"DROP TRIGGER IF EXISTS {table}_no_{op.lower()}"
            for table in TABLES for op in ("UPDATE", "DELETE")]


def create(conn: Connection) -> None:
    for statement in create_sql(conn.dialect.name):
        conn.execute(text(statement))


def drop(conn: Connection) -> None:
    for statement in drop_sql(conn.dialect.name):
        conn.execute(text(statement))
