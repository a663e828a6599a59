"""Totals of the ledger kept up to date as it is appended, so that no page view sums postings.

- `ledger_account_total`: per account, money in (positive postings), money out (negative
  postings, as a positive number), the first and last seq that touched it.
- `ledger_month_total`: per (UTC month, transaction kind, account type), the sum of positive
  postings, the net sum, and the transactions counted once each (on their first posting's
  account type), for the platform's totals and monthly charts.

`record()` is called by `funds.ledger.append` in the same unit of work as the postings (under
the chain's lock), so the totals commit or roll back with them. It also tells the data
version which accounts moved (core.data_version), so caches are invalidated locally.
Migration 0014 fills both tables from an existing ledger; `rebuild()` does the same for data
loaded around the append (the benchmark's COPY).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Column, Integer, String, TextClause, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, Session, SQLModel

from core.data_version import note_accounts, note_writes
from core.money import Money
from core.money_column import MoneyType

ACCOUNT_TYPES = ("donor", "enterprise", "need", "disbursed", "fund", "pledge")


class LedgerAccountTotal(SQLModel, table=True):
    __tablename__ = "ledger_account_total"
    account: str = Field(sa_column=Column(String(60), primary_key=True))
    money_in: Money = Field(sa_column=Column(MoneyType, nullable=False))
    money_out: Money = Field(sa_column=Column(MoneyType, nullable=False))
    first_seq: int = Field(sa_column=Column(Integer, nullable=False))
    last_seq: int = Field(sa_column=Column(Integer, nullable=False))


class LedgerMonthTotal(SQLModel, table=True):
    __tablename__ = "ledger_month_total"
    month: str = Field(sa_column=Column(String(7), primary_key=True))  # YYYY-MM, UTC
    kind: str = Field(sa_column=Column(String(30), primary_key=True))
    account_type: str = Field(sa_column=Column(String(20), primary_key=True))
    positive: Money = Field(sa_column=Column(MoneyType, nullable=False))
    net: Money = Field(sa_column=Column(MoneyType, nullable=False))
    txns: int = Field(sa_column=Column(Integer, nullable=False))


def account_type(account: str) -> str:
    kind = account.partition(":")[0]
    return kind if kind in ACCOUNT_TYPES else "other"


def month_of(at: datetime) -> str:
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return f"{at:%Y-%m}"


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _totals(postings: Sequence[tuple[str, int]]):
    """({account: [in, out]}, {account type: [positive, net, txns]}) of one transaction."""
    flows: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    cells: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for i, (account, amount) in enumerate(postings):
        flows[account][0 if amount > 0 else 1] += abs(amount)
        cell = cells[account_type(account)]
        cell[0] += max(amount, 0)
        cell[1] += amount
        cell[2] += 1 if i == 0 else 0
    return flows, cells


def record(session: Session, seq: int, at: datetime, kind: str,
           postings: Sequence[tuple[str, int]]) -> None:
    """Add one appended transaction's postings to the totals (an upsert per row touched)."""
    insert = _insert(session)
    flows, cells = _totals(postings)
    accounts = LedgerAccountTotal.__table__
    for account, (money_in, money_out) in sorted(flows.items()):  # sorted: one lock order
        stmt = insert(accounts).values(account=account, money_in=money_in, money_out=money_out,
                                       first_seq=seq, last_seq=seq)
        session.execute(stmt.on_conflict_do_update(index_elements=[accounts.c.account], set_={
            "money_in": accounts.c.money_in + stmt.excluded.money_in,
            "money_out": accounts.c.money_out + stmt.excluded.money_out,
            "last_seq": stmt.excluded.last_seq}))
    months = LedgerMonthTotal.__table__
    month = month_of(at)
    for type_, (positive, net, txns) in sorted(cells.items()):
        stmt = insert(months).values(month=month, kind=kind, account_type=type_,
                                     positive=positive, net=net, txns=txns)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[months.c.month, months.c.kind, months.c.account_type], set_={
                "positive": months.c.positive + stmt.excluded.positive,
                "net": months.c.net + stmt.excluded.net,
                "txns": months.c.txns + stmt.excluded.txns}))
    note_accounts(session, flows)


def _batch_totals(txns):
    """({account: [in, out, first seq, last seq]}, {(month, kind, type): [positive, net,
    txns]}) of many transactions, summed per totals row."""
    flows: dict[str, list[int]] = {}
    cells: dict[tuple[str, str, str], list[int]] = {}
    for seq, at, kind, postings in txns:
        one_flows, one_cells = _totals(postings)
        for account, (money_in, money_out) in one_flows.items():
            row = flows.setdefault(account, [0, 0, seq, seq])
            row[0] += money_in
            row[1] += money_out
            row[3] = seq
        month = month_of(at)
        for type_, (positive, net, count) in one_cells.items():
            cell = cells.setdefault((month, kind, type_), [0, 0, 0])
            cell[0] += positive
            cell[1] += net
            cell[2] += count
    return flows, cells


def record_many(session: Session,
                txns: Sequence[tuple[int, datetime, str, Sequence[tuple[str, int]]]]) -> None:
    """Add many appended transactions ((seq, at, kind, postings), in seq order) to the
    totals: summed per row first, then one multi-row upsert per table, so a batch of gifts
    touches each totals row once (funds.ledger.append_many, on SQLite)."""
    if not txns:
        return
    insert = _insert(session)
    flows, cells = _batch_totals(txns)
    accounts = LedgerAccountTotal.__table__
    stmt = insert(accounts)
    connection = session.connection()
    connection.execute(stmt.on_conflict_do_update(index_elements=[accounts.c.account], set_={
        "money_in": accounts.c.money_in + stmt.excluded.money_in,
        "money_out": accounts.c.money_out + stmt.excluded.money_out,
        "last_seq": stmt.excluded.last_seq}), [  # sorted: one lock order
        {"account": account, "money_in": row[0], "money_out": row[1], "first_seq": row[2],
         "last_seq": row[3]} for account, row in sorted(flows.items())])
    months = LedgerMonthTotal.__table__
    stmt = insert(months)
    connection.execute(stmt.on_conflict_do_update(
        index_elements=[months.c.month, months.c.kind, months.c.account_type], set_={
            "positive": months.c.positive + stmt.excluded.positive,
            "net": months.c.net + stmt.excluded.net,
            "txns": months.c.txns + stmt.excluded.txns}), [
        {"month": month, "kind": kind, "account_type": type_, "positive": cell[0],
         "net": cell[1], "txns": cell[2]} for (month, kind, type_), cell in sorted(cells.items())])
    note_accounts(session, flows)


# What write_pg's one statement writes, for the data version (it starts with WITH, which
# the statement sniffer in core.data_version does not read).
PG_WRITES = frozenset({("INSERT", "ledger_txn"), ("INSERT", "ledger_posting"),
                       ("INSERT", "ledger_tree_node"), ("INSERT", "ledger_account_total"),
                       ("INSERT", "ledger_month_total")})
_PG_APPEND: dict[tuple[int, int, int, int], TextClause] = {}


def _pg_append(postings: int, nodes: int, accounts: int, cells: int) -> TextClause:
    """The append as one PostgreSQL statement (data-modifying CTEs), built once per shape."""
    shape = (postings, nodes, accounts, cells)
    found = _PG_APPEND.get(shape)
    if found is not None:
        return found
    parts = [
        "t AS (INSERT INTO ledger_txn (seq, at, kind, ref, memo, prev, hash) "
        "VALUES (:seq, :at, :kind, :ref, :memo, :prev, :hash))",
        "p AS (INSERT INTO ledger_posting (seq, position, account, amount) VALUES "
        + ", ".join(f"(:seq, {i}, :pa{i}, :pm{i})" for i in range(postings)) + ")",
    ]
    if nodes:
        parts.append("n AS (INSERT INTO ledger_tree_node (id, hash) VALUES "
                     + ", ".join(f"(:ni{i}, :nh{i})" for i in range(nodes)) + ")")
    parts.append(
        "a AS (INSERT INTO ledger_account_total AS x "
        "(account, money_in, money_out, first_seq, last_seq) VALUES "
        + ", ".join(f"(:aa{i}, :ai{i}, :ao{i}, :seq, :seq)" for i in range(accounts))
        + " ON CONFLICT (account) DO UPDATE SET money_in = x.money_in + excluded.money_in, "
        "money_out = x.money_out + excluded.money_out, last_seq = excluded.last_seq)")
    sql = ("WITH " + ", ".join(parts) + " INSERT INTO ledger_month_total AS y "
           "(month, kind, account_type, positive, net, txns) VALUES "
           + ", ".join(f"(:month, :kind, :ct{i}, :cp{i}, :cn{i}, :cx{i})" for i in range(cells))
           + " ON CONFLICT (month, kind, account_type) DO UPDATE SET "
           "positive = y.positive + excluded.positive, net = y.net + excluded.net, "
           "txns = y.txns + excluded.txns")
    statement = text(sql)
    _PG_APPEND[shape] = statement
    return statement


def write_pg(session: Session, txn, postings: Sequence[tuple[str, int]],
             tree_rows: Sequence[dict]) -> None:
    """Write one appended transaction on PostgreSQL in a single statement: the transaction
    row, its postings, its Merkle tree nodes (funds.tree_store) and both totals. The
    caller (funds.ledger.append) holds the chain's lock."""
    flows, cells = _totals(postings)
    params = {"seq": txn.seq, "at": txn.at, "kind": txn.kind, "ref": txn.ref,
              "memo": txn.memo, "prev": txn.prev, "hash": txn.hash, "month": month_of(txn.at)}
    for i, (account, amount) in enumerate(postings):
        params[f"pa{i}"], params[f"pm{i}"] = account, amount
    for i, row in enumerate(tree_rows):
        params[f"ni{i}"], params[f"nh{i}"] = row["id"], row["hash"]
    for i, (account, (money_in, money_out)) in enumerate(sorted(flows.items())):
        params[f"aa{i}"], params[f"ai{i}"], params[f"ao{i}"] = account, money_in, money_out
    for i, (type_, (positive, net, txns)) in enumerate(sorted(cells.items())):
        params[f"ct{i}"], params[f"cp{i}"] = type_, positive
        params[f"cn{i}"], params[f"cx{i}"] = net, txns
    connection = session.connection()
    connection.execute(_pg_append(len(postings), len(tree_rows), len(flows), len(cells)),
                       params)
    note_writes(connection, PG_WRITES)
    note_accounts(session, flows)


_PG_APPEND_MANY = text(
    "WITH t AS (INSERT INTO ledger_txn (seq, at, kind, ref, memo, prev, hash) "
    "SELECT v.seq, :at, v.kind, v.ref, v.memo, v.prev, v.hash FROM unnest("
    "CAST(:seqs AS integer[]), CAST(:kinds AS text[]), CAST(:refs AS text[]), "
    "CAST(:memos AS text[]), CAST(:prevs AS text[]), CAST(:hashes AS text[])) "
    "AS v(seq, kind, ref, memo, prev, hash)), "
    "p AS (INSERT INTO ledger_posting (seq, position, account, amount) SELECT * FROM unnest("
    "CAST(:p_seqs AS integer[]), CAST(:p_positions AS integer[]), "
    "CAST(:p_accounts AS text[]), CAST(:p_amounts AS bigint[]))), "
    "n AS (INSERT INTO ledger_tree_node (id, hash) SELECT * FROM unnest("
    "CAST(:n_ids AS bigint[]), CAST(:n_hashes AS bytea[]))), "
    "a AS (INSERT INTO ledger_account_total AS x (account, money_in, money_out, first_seq, "
    "last_seq) SELECT * FROM unnest(CAST(:a_accounts AS text[]), CAST(:a_in AS bigint[]), "
    "CAST(:a_out AS bigint[]), CAST(:a_first AS integer[]), CAST(:a_last AS integer[])) "
    "ON CONFLICT (account) DO UPDATE SET money_in = x.money_in + excluded.money_in, "
    "money_out = x.money_out + excluded.money_out, last_seq = excluded.last_seq) "
    "INSERT INTO ledger_month_total AS y (month, kind, account_type, positive, net, txns) "
    "SELECT * FROM unnest(CAST(:c_months AS text[]), CAST(:c_kinds AS text[]), "
    "CAST(:c_types AS text[]), CAST(:c_positive AS bigint[]), CAST(:c_net AS bigint[]), "
    "CAST(:c_txns AS integer[])) ON CONFLICT (month, kind, account_type) DO UPDATE SET "
    "positive = y.positive + excluded.positive, net = y.net + excluded.net, "
    "txns = y.txns + excluded.txns")


def write_many_pg(session: Session, at: datetime, txns: list[dict], postings: list[dict],
                  nodes: list[dict], written) -> None:
    """append_many on PostgreSQL: every row of the batch in ONE statement, whatever its
    size (each table's rows as arrays, unnested), with the totals summed per row first.
    The caller holds the chain's lock."""
    flows, cells = _batch_totals(written)
    accounts = sorted(flows.items())  # one lock order
    months = sorted(cells.items())
    connection = session.connection()
    connection.execute(_PG_APPEND_MANY, {
        "at": at, "seqs": [t["seq"] for t in txns], "kinds": [t["kind"] for t in txns],
        "refs": [t["ref"] for t in txns], "memos": [t["memo"] for t in txns],
        "prevs": [t["prev"] for t in txns], "hashes": [t["hash"] for t in txns],
        "p_seqs": [p["seq"] for p in postings], "p_positions": [p["position"] for p in postings],
        "p_accounts": [p["account"] for p in postings],
        "p_amounts": [int(p["amount"]) for p in postings],
        "n_ids": [n["id"] for n in nodes], "n_hashes": [n["hash"] for n in nodes],
        "a_accounts": [a for a, _ in accounts], "a_in": [r[0] for _, r in accounts],
        "a_out": [r[1] for _, r in accounts], "a_first": [r[2] for _, r in accounts],
        "a_last": [r[3] for _, r in accounts],
        "c_months": [k[0] for k, _ in months], "c_kinds": [k[1] for k, _ in months],
        "c_types": [k[2] for k, _ in months], "c_positive": [c[0] for _, c in months],
        "c_net": [c[1] for _, c in months], "c_txns": [c[2] for _, c in months]})
    note_writes(connection, PG_WRITES)
    note_accounts(session, flows)


def _type_case() -> str:
    whens = " ".join(f"WHEN p.account LIKE '{t}:%' THEN '{t}'" for t in ACCOUNT_TYPES)
    return f"CASE {whens} ELSE 'other' END"


def rebuild_statements(dialect: str) -> list[str]:
    """SQL that recomputes both tables from the postings (migration 0014, bulk loads)."""
    month = ("to_char(t.at AT TIME ZONE 'UTC', 'YYYY-MM')" if dialect == "postgresql"
             else "strftime('%Y-%m', t.at)")
    return [
        "DELETE FROM ledger_account_total",
        "DELETE FROM ledger_month_total",
        "INSERT INTO ledger_account_total (account, money_in, money_out, first_seq, last_seq) "
        "SELECT account, COALESCE(SUM(CASE WHEN amount > 0 THEN amount ELSE 0 END), 0), "
        "COALESCE(SUM(CASE WHEN amount < 0 THEN -amount ELSE 0 END), 0), MIN(seq), MAX(seq) "
        "FROM ledger_posting GROUP BY account",
        "INSERT INTO ledger_month_total (month, kind, account_type, positive, net, txns) "
        f"SELECT {month}, t.kind, {_type_case()}, "
        "SUM(CASE WHEN p.amount > 0 THEN p.amount ELSE 0 END), SUM(p.amount), "
        "SUM(CASE WHEN p.position = 0 THEN 1 ELSE 0 END) "
        f"FROM ledger_posting p JOIN ledger_txn t ON t.seq = p.seq "
        f"GROUP BY {month}, t.kind, {_type_case()}",
    ]


def rebuild(connection) -> None:
    for statement in rebuild_statements(connection.dialect.name):
        connection.execute(text(statement))
