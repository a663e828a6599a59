"""Data versions for every cache: what changed, and when, as seen by the caches.

One clock (the `data_version` row) is bumped by each unit of work that wrote anything, in
the same transaction as the writes, just before COMMIT: a reader never sees a new version
with old data, so a page rendered from old data is stored under an old version and is never
served after the commit. Bumps are serialised by that row's lock, so versions become visible
in increasing order.

Each bump also stamps the *scopes* it changed with the new clock value (`data_scope` rows):

- `site`: anything at all. Every cache depends on it.
- `lists`: money moved somewhere: lists, totals and ledger pages.
- `need:<code>`: money moved through that need's accounts (`need:` or `disbursed:`).

A unit of work that appended ledger transactions and wrote nothing but the money path's own
rows (`MONEY_WRITES`) stamps `lists` plus the scopes of the need accounts it posted to; any
other write stamps `site`. So a gift to one need leaves every other need's page cached, and an
unknown kind of write invalidates everything (the safe default). A cache's version for a
set of scopes is the largest stamp among them (`scope_version`).

Any session that executed an INSERT, UPDATE or DELETE (ORM flushes, conditional UPDATEs, raw
SQL through the session) bumps; code that writes through a bare connection calls `bump()`.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from contextvars import ContextVar

from sqlalchemy import BigInteger, Column, String, bindparam, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel

SITE = "site"
LISTS = "lists"

_WROTE = "shanlian_wrote"          # connection.info: {(verb, table)} written this transaction
_ACCOUNTS = "shanlian_accounts"    # session.info: ledger accounts posted to this transaction
_NEEDS = "shanlian_needs"          # session.info: codes of needs the ORM flushed changes to
_WRITE = re.compile(r'^\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM|MERGE\s+INTO)\s+"?(\w+)"?',
                    re.IGNORECASE)
# Rows no cached view reads: the clocks themselves, the job outbox (marking a job sent must
# not empty every cache), stored receipts and donors' notifications (their pages are never
# cached), and the queue of gift confirmations (donors.gift_batches: a queued gift changes no
# page until it is applied, and that apply moves the version).
_OWN_TABLES = ("data_version", "data_scope", "job_outbox", "gift_receipt", "notification",
               "gift_confirmation")

# What a pure money movement may write: INSERTs into these tables, UPDATEs of these columns
# (the mirror columns and the rows that record the gift). An UPDATE of a donor, a programme,
# an organisation, a need's text... is not here: it stamps `site`.
MONEY_WRITES = frozenset({
    ("INSERT", "ledger_txn"), ("INSERT", "ledger_posting"),
    ("INSERT", "ledger_account_total"), ("INSERT", "ledger_month_total"),
    ("UPDATE", "ledger_account_total.money_in"), ("UPDATE", "ledger_account_total.money_out"),
    ("UPDATE", "ledger_account_total.last_seq"), ("UPDATE", "ledger_month_total.positive"),
    ("UPDATE", "ledger_month_total.net"), ("UPDATE", "ledger_month_total.txns"),
    ("UPDATE", "need.funded"), ("UPDATE", "need.disbursed"), ("UPDATE", "need.state"),
    ("UPDATE", "pledge.paid_in"), ("UPDATE", "pledge.allocated"),
    ("UPDATE", "communityfund.balance"),
    ("INSERT", "donation"), ("UPDATE", "donation.status"), ("UPDATE", "donation.ledger_seq"),
    ("INSERT", "donor"), ("INSERT", "allocation"), ("UPDATE", "allocation.status"),
    ("UPDATE", "allocation.ledger_seq"), ("INSERT", "disbursement"),
    ("UPDATE", "milestone.done_at"), ("INSERT", "audit_log"),
    ("INSERT", "ledger_tree_node"),  # the transparency log grows with every append
    ("INSERT", "approval"),  # a grant's approvals are part of the money move
    # A gift's confirmation (donors.giving): its payment's state, its hold lifted, its 配捐.
    ("UPDATE", "gift_payment.status"), ("UPDATE", "gift_payment.confirmed_at"),
    ("UPDATE", "gift_payment.confirmed_by"), ("UPDATE", "donation.payment_ref"),
    ("UPDATE", "need.hold_holder"), ("UPDATE", "need.hold_until"),
    ("INSERT", "match_share"), ("INSERT", "match_offer_need"),
    ("UPDATE", "match_offer.used"), ("UPDATE", "match_offer_need.used"),
})
# Writes no page, export or API read shows: alone, they move no version (a token's
# last-used time is written on API requests that would otherwise only read).
UNSEEN_WRITES = frozenset({("UPDATE", "api_token.last_used_at")})
_SET_CLAUSE = re.compile(r"\bSET\s+(.*?)(?:\s+WHERE\b|$)", re.IGNORECASE | re.DOTALL)
_SET_COLUMN = re.compile(r'(?:^|,)\s*"?(\w+)"?\s*=')

_CLOCK_BUMP_RETURNING = text(
    "UPDATE data_version SET version = version + 1 WHERE id = 1 RETURNING version")
_CLOCK_SEED = text("INSERT INTO data_version (id, version) VALUES (1, 1)")
_CLOCK_READ = text("SELECT COALESCE(MAX(version), 0) FROM data_version")
_SCOPES_READ = text("SELECT COALESCE(MAX(version), 0) FROM data_scope WHERE scope IN :scopes"
                    ).bindparams(bindparam("scopes", expanding=True))
_SCOPES_EACH = text("SELECT scope, version FROM data_scope WHERE scope IN :scopes"
                    ).bindparams(bindparam("scopes", expanding=True))
_CHANGED_SINCE = text("SELECT scope, version FROM data_scope WHERE version > :after "
                      "UNION ALL SELECT '', version FROM data_version WHERE id = 1")


class DataVersion(SQLModel, table=True):
    __tablename__ = "data_version"
    id: int = Field(primary_key=True)
    version: int = Field(sa_column=Column(BigInteger, nullable=False, default=0))


class DataScope(SQLModel, table=True):
    """The clock value of the last change to one scope (see the module's docstring)."""

    __tablename__ = "data_scope"
    scope: str = Field(sa_column=Column(String(80), primary_key=True))
    version: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))


def need_scope(code: str) -> str:
    return f"need:{code}"


def data_version(session_or_connection) -> int:
    """The clock: moves with every committed write."""
    return int(session_or_connection.execute(_CLOCK_READ).scalar() or 0)


def scope_version(session_or_connection, *scopes: str) -> int:
    """The newest change to any of `scopes` (0 if none was ever stamped)."""
    return int(session_or_connection.execute(_SCOPES_READ, {"scopes": list(scopes)}).scalar()
               or 0)


def scope_versions(session_or_connection, *scopes: str) -> dict[str, int]:
    """{scope: its last stamp (0 if never)} for each of `scopes`, in one query."""
    found = dict(session_or_connection.execute(_SCOPES_EACH, {"scopes": list(scopes)}).all())
    return {scope: int(found.get(scope) or 0) for scope in scopes}


# A clock that follows the scopes' stamps in this process (web.page_cache.ScopeClock, set for
# each request): it answers without a query, a version at least as new as every change this
# process made and at most its TTL behind changes made elsewhere.
scope_clock: ContextVar[Callable[[tuple[str, ...]], int] | None] = ContextVar(
    "scope_clock", default=None)


def followed_version(session_or_connection, *scopes: str) -> int:
    """A version of `scopes` for keying an in-process cache: from the request's scope clock
    when there is one (no query; the page cache's freshness rule), else `scope_version`.
    It moves whenever one of the scopes changes, but is not the stamp itself (never store it
    outside this process)."""
    clock = scope_clock.get()
    if clock is not None:
        return clock(tuple(scopes))
    return scope_version(session_or_connection, *scopes)


def changed_since(session_or_connection, after: int) -> tuple[int, dict[str, int]]:
    """(the clock, {scope: version} of every scope stamped after clock value `after`), in one
    indexed query."""
    clock, changed = 0, {}
    for scope, version in session_or_connection.execute(_CHANGED_SINCE, {"after": after}).all():
        if scope == "":
            clock = int(version)
        else:
            changed[scope] = int(version)
    return clock, changed


def bump(connection, scopes: Iterable[str] = (SITE,)) -> int:
    """Move the clock and stamp `scopes` with its new value; returns that value. Two
    statements: the clock's UPDATE … RETURNING and one upsert of every scope (sorted, so
    concurrent bumps lock scope rows in one order)."""
    version = connection.execute(_CLOCK_BUMP_RETURNING).scalar()
    if version is None:  # the row is gone (a truncated database)
        connection.execute(_CLOCK_SEED)
        version = data_version(connection)
    ordered = sorted(set(scopes))
    if ordered:
        connection.execute(_stamps(len(ordered)),
                           {"version": version, **{f"s{i}": s for i, s in enumerate(ordered)}})
    return int(version)


_STAMPS: dict[int, object] = {}


def _stamps(count: int):
    """INSERT … ON CONFLICT of `count` scopes at one version, built once per count."""
    statement = _STAMPS.get(count)
    if statement is None:
        values = ", ".join(f"(:s{i}, :version)" for i in range(count))
        statement = text(f"INSERT INTO data_scope (scope, version) VALUES {values} "
                         "ON CONFLICT (scope) DO UPDATE SET version = excluded.version")
        _STAMPS[count] = statement
    return statement


def note_accounts(session: OrmSession, accounts: Iterable[str]) -> None:
    """Called by the ledger's append: which accounts this unit of work posted to."""
    session.info.setdefault(_ACCOUNTS, set()).update(accounts)


def note_writes(connection, writes: Iterable[tuple[str, str]]) -> None:
    """Record writes made by a statement the sniffer cannot read (a WITH … INSERT), as
    (verb, table) or (UPDATE, table.column) pairs."""
    connection.info.setdefault(_WROTE, set()).update(writes)


def scopes_for(writes: set[tuple[str, str]], accounts: set[str],
               flushed_needs: set[str] = frozenset()) -> set[str]:
    """Which scopes a unit of work changed, from what it wrote, the accounts it posted to
    and the needs whose rows it changed through the ORM. Money moved and nothing else was
    written: the lists and the needs posted to. Anything else: the whole site."""
    posted = {a.partition(":")[2] for a in accounts if a.startswith(("need:", "disbursed:"))}
    if accounts and writes <= MONEY_WRITES and flushed_needs <= posted:
        return {LISTS, *(need_scope(code) for code in posted)}
    return {SITE}


def _written(statement: str) -> set[tuple[str, str]]:
    """(verb, table) for an INSERT or DELETE, (UPDATE, table.column) per column SET."""
    match = _WRITE.match(statement)
    if not match or match.group(2).lower() in _OWN_TABLES:
        return set()
    verb, table = match.group(1).split()[0].upper(), match.group(2).lower()
    if verb != "UPDATE":
        return {(verb, table)}
    clause = _SET_CLAUSE.search(statement)
    columns = _SET_COLUMN.findall(clause.group(1)) if clause else []
    return {(verb, f"{table}.{c.lower()}") for c in columns} or {(verb, table)}


@event.listens_for(Engine, "before_cursor_execute")
def _note_writes(conn, _cursor, statement, _params, _context, _executemany):
    written = _written(statement)
    if written:
        if conn.get_execution_options().get("shanlian_read_only"):  # core.db.READ_ONLY
            raise RuntimeError(f"a read-only request wrote: {sorted(written)}")
        conn.info.setdefault(_WROTE, set()).update(written)


@event.listens_for(OrmSession, "after_flush")
def _note_flushed_needs(session: OrmSession, _context) -> None:
    """A need row changed through the ORM must be one the ledger posted to (else: `site`)."""
    for obj in (*session.new, *session.dirty, *session.deleted):
        if getattr(obj, "__tablename__", None) == "need" and (
                obj in session.new or obj in session.deleted or session.is_modified(obj)):
            session.info.setdefault(_NEEDS, set()).add(getattr(obj, "code", None))


@event.listens_for(Engine, "rollback")
def _forget_writes(conn):
    conn.info.pop(_WROTE, None)


@event.listens_for(Engine, "commit")
def _committed(conn):
    conn.info.pop(_WROTE, None)


@event.listens_for(OrmSession, "before_commit")
def _bump_on_commit(session: OrmSession) -> None:
    if not session.in_transaction():
        return
    session.flush()  # pending ORM changes are written now, so they count
    accounts = session.info.pop(_ACCOUNTS, set())
    needs = session.info.pop(_NEEDS, set())
    for connection in _connections(session):
        writes = (connection.info.pop(_WROTE, None) or set()) - UNSEEN_WRITES
        if writes:
            bump(connection, scopes_for(writes, accounts, needs))


@event.listens_for(OrmSession, "after_rollback")
def _forget_accounts(session: OrmSession) -> None:
    session.info.pop(_ACCOUNTS, None)
    session.info.pop(_NEEDS, None)


def _connections(session: OrmSession):
    transaction = session.get_transaction()
    if transaction is None:
        return []
    return [conn for conn, *_ in transaction._connections.values()]
