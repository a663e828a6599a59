"""The double-entry, hash-chained ledger: append, verify, export, balances.

Appends are serialised (a PostgreSQL advisory lock, SQLite's write lock), and `prev` is
UNIQUE, so even a bug that skipped the lock could not fork the chain: it would fail.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import event, func, insert, select, text
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session

from core.clock import aware, iso_z, now
from core.db import is_postgres
from core.errors import UserError
from core.money import Money
from funds import ledger_aggregates, tree_store
from funds.ledger_format import GENESIS, ChainChecker, Verdict, to_line, txn_hash
from funds.models import LedgerPosting, LedgerTxn

ACCOUNT = re.compile(r"^[a-z_]+:[A-Za-z0-9_-]{1,50}$")
ADVISORY_LOCK_KEY = 7_004_231  # any constant shared by all writers of this database


class LedgerError(UserError):
    """A transaction that may not be written (it changes nothing)."""


@dataclass(frozen=True)
class Posting:
    account: str
    amount: int


def _check_postings(postings: Sequence[Posting | tuple[str, int]]) -> list[Posting]:
    checked = []
    for item in postings:
        posting = item if isinstance(item, Posting) else Posting(*item)
        if isinstance(posting.amount, bool) or not isinstance(posting.amount, int):
            raise LedgerError("记账金额必须是整数分：%(amount)r", amount=posting.amount)
        if posting.amount == 0:
            raise LedgerError("记账金额不能为零")
        if not ACCOUNT.match(posting.account):
            raise LedgerError("账户格式应为 type:id：%(account)s", account=posting.account)
        checked.append(Posting(posting.account, int(posting.amount)))
    if len(checked) < 2:
        raise LedgerError("一笔交易至少两条分录")
    total = sum(p.amount for p in checked)
    if total != 0:
        raise LedgerError("借贷不平衡（差 %(difference)s）", difference=Money.fen(total))
    return checked


def _lock_chain(session: Session) -> None:
    if is_postgres(session):
        session.execute(_LOCK, {"k": ADVISORY_LOCK_KEY})
    # SQLite: every transaction begins IMMEDIATE (core.db), which already serialises writers.


_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
_HEAD = select(LedgerTxn.seq, LedgerTxn.hash, LedgerTxn.at).order_by(LedgerTxn.seq.desc()).limit(1)
_INSERT_TXN = insert(LedgerTxn.__table__)
_INSERT_POSTINGS = insert(LedgerPosting.__table__)
# session.info: (seq, hash, at) of the chain's head as this transaction left it. Valid only
# while the transaction that read it (and holds the chain's lock) goes on: forgotten when
# any transaction or savepoint of the session ends, so a rolled-back savepoint never leaves
# a head that is not in the database. It saves the lock and the read of every append after
# the first in one unit of work (a gift and its 配捐 share).
_HEAD_KEY = "shanlian_ledger_head"


@event.listens_for(OrmSession, "after_transaction_end")
def _forget_head(session: OrmSession, transaction) -> None:
    if transaction.parent is None or transaction.nested:  # not a flush's own subtransaction
        session.info.pop(_HEAD_KEY, None)


def _chain_head(session: Session) -> tuple[int, str, datetime | None]:
    head_ = session.info.get(_HEAD_KEY)
    if head_ is None:
        _lock_chain(session)
        last = session.execute(_HEAD).first()
        head_ = (last[0], last[1], aware(last[2])) if last else (0, GENESIS, None)
    return head_


def append(session: Session, kind: str, ref: str, postings: Sequence[Posting | tuple[str, int]],
           memo: str = "") -> LedgerTxn:
    """Append one balanced transaction to the chain, inside the caller's unit of work."""
    checked = _check_postings(postings)
    if not kind or not ref:
        raise LedgerError("交易必须有类型和对象")
    last_seq, prev, last_at = _chain_head(session)
    seq = last_seq + 1
    # Times never go backwards in seq order (verifiers check it), even if a clock does.
    at = now().replace(microsecond=0)
    if last_at is not None:
        at = max(at, last_at)
    body = _as_dict(seq, at, kind, ref, memo, prev, checked)
    txn = LedgerTxn(seq=seq, at=at, kind=kind, ref=ref, memo=memo, prev=prev,
                    hash=txn_hash(body))
    pairs = [(p.account, p.amount) for p in checked]
    tree_rows = tree_store.leaf_rows(session, seq, txn.hash, prev)  # the transparency log
    if is_postgres(session):
        # One statement: the transaction, its postings, its tree nodes and the totals.
        ledger_aggregates.write_pg(session, txn, pairs, tree_rows)
    else:
        connection = session.connection()
        connection.execute(_INSERT_TXN, {"seq": seq, "at": at, "kind": kind, "ref": ref,
                                         "memo": memo, "prev": prev, "hash": txn.hash})
        connection.execute(_INSERT_POSTINGS, [
            {"seq": seq, "position": i, "account": a, "amount": m}
            for i, (a, m) in enumerate(pairs)])
        if tree_rows:
            tree_store.insert_rows(session, tree_rows)
        ledger_aggregates.record(session, seq, at, kind, pairs)
    session.info[_HEAD_KEY] = (seq, txn.hash, at)
    # The row is written: hand it back as a detached, loaded object (adding it to the session
    # would keep it in the identity map even if this transaction rolls back).
    make_transient_to_detached(txn)
    return txn


@dataclass(frozen=True)
class Entry:
    """One transaction to append with append_many."""
    kind: str
    ref: str
    postings: Sequence[Posting | tuple[str, int]]
    memo: str = ""


def append_many(session: Session, entries: Sequence[Entry]) -> list[tuple[int, str]]:
    """Append `entries` in order, each chained to the one before exactly as `append` would
    (same format, same hashes), inside the caller's unit of work: one lock and one read of
    the head, then one write of every row (PostgreSQL: one statement, each table's rows as
    arrays; SQLite: one multi-row insert per table) of the transactions, postings, Merkle
    nodes and both totals. Returns (seq, hash) of each. Used by the batched gift applier
    (donors.gift_batches), where one unit of work confirms many gifts."""
    if not entries:
        return []
    checked = [_check_postings(entry.postings) for entry in entries]
    if any(not entry.kind or not entry.ref for entry in entries):
        raise LedgerError("交易必须有类型和对象")
    last_seq, prev, last_at = _chain_head(session)
    at = now().replace(microsecond=0)
    if last_at is not None:
        at = max(at, last_at)
    txns, postings, nodes, written, appended = [], [], [], [], []
    for entry, checked_postings in zip(entries, checked, strict=True):
        seq = last_seq + 1
        hash_ = txn_hash(_as_dict(seq, at, entry.kind, entry.ref, entry.memo, prev,
                                  checked_postings))
        txns.append({"seq": seq, "at": at, "kind": entry.kind, "ref": entry.ref,
                     "memo": entry.memo, "prev": prev, "hash": hash_})
        pairs = [(p.account, p.amount) for p in checked_postings]
        postings.extend({"seq": seq, "position": i, "account": a, "amount": m}
                        for i, (a, m) in enumerate(pairs))
        nodes.extend(tree_store.leaf_rows(session, seq, hash_, prev))
        written.append((seq, at, entry.kind, pairs))
        appended.append((seq, hash_))
        last_seq, prev = seq, hash_
    if is_postgres(session):
        ledger_aggregates.write_many_pg(session, at, txns, postings, nodes, written)
    else:
        connection = session.connection()
        connection.execute(_INSERT_TXN, txns)
        connection.execute(_INSERT_POSTINGS, postings)
        tree_store.insert_rows(session, nodes)
        ledger_aggregates.record_many(session, written)
    session.info[_HEAD_KEY] = (last_seq, prev, at)
    return appended


def _as_dict(seq, at, kind, ref, memo, prev, postings, hash_=None) -> dict:
    body = {
        "seq": seq, "at": iso_z(at), "kind": kind, "ref": ref, "memo": memo,
        "postings": [{"account": p.account, "amount": p.amount} for p in postings],
        "prev": prev,
    }
    if hash_ is not None:
        body["hash"] = hash_
    return body


def iter_transactions(session: Session, batch: int = 5000) -> Iterator[dict]:
    """Every transaction as its public dict, in seq order, streamed in batches."""
    after = 0
    while True:
        txns = session.execute(
            select(LedgerTxn).where(LedgerTxn.seq > after).order_by(LedgerTxn.seq).limit(batch)
        ).scalars().all()
        if not txns:
            return
        postings: dict[int, list[Posting]] = {t.seq: [] for t in txns}
        rows = session.execute(
            select(LedgerPosting.seq, LedgerPosting.account, LedgerPosting.amount)
            .where(LedgerPosting.seq > after, LedgerPosting.seq <= txns[-1].seq)
            .order_by(LedgerPosting.seq, LedgerPosting.position)
        ).all()
        for seq, account, amount in rows:
            postings[seq].append(Posting(account, amount))
        for t in txns:
            yield _as_dict(t.seq, t.at, t.kind, t.ref, t.memo, t.prev, postings[t.seq], t.hash)
        after = txns[-1].seq


def export_lines(session: Session) -> Iterator[str]:
    for txn in iter_transactions(session):
        yield to_line(txn) + "\n"


def verify(session: Session) -> Verdict:
    checker = ChainChecker()
    for txn in iter_transactions(session):
        if not checker.feed(txn):
            break
    return checker.result()


def balance(session: Session, account: str) -> int:
    total = session.execute(
        select(func.coalesce(func.sum(LedgerPosting.amount), 0)).where(
            LedgerPosting.account == account)
    ).scalar_one()
    return int(total)


def balances(session: Session, prefix: str) -> dict[str, int]:
    """Balances of every account whose name starts with `prefix` (e.g. 'need:')."""
    rows = session.execute(
        select(LedgerPosting.account, func.sum(LedgerPosting.amount))
        .where(LedgerPosting.account.startswith(prefix))
        .group_by(LedgerPosting.account)
    ).all()
    return {account: int(total) for account, total in rows}


def head(session: Session) -> LedgerTxn | None:
    return session.execute(select(LedgerTxn).order_by(LedgerTxn.seq.desc()).limit(1)).scalar()
