"""Totals of the whole ledger (money in, to needs, disbursed; by kind and month). They are a
pure function of the chain, so they are cached by the head transaction's hash and brought up
to date incrementally: only postings after the cached seq are read."""
from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import case, func, literal
from sqlmodel import Session, select

from funds.models import LedgerPosting, LedgerTxn

OUTSIDE = ("donor", "enterprise")  # money enters the platform from these accounts


def _month(session: Session, column):
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _account_type():
    return case(
        *[(LedgerPosting.account.startswith(f"{t}:"), literal(t)) for t in
          ("donor", "enterprise", "need", "disbursed", "fund", "pledge")],
        else_=literal("other"))


@dataclass
class LedgerSummary:
    upto_seq: int = 0
    upto_hash: str = ""
    # (month, kind, account type) → [sum of positive postings, sum of all postings]
    cells: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    txn_counts: dict[str, int] = field(default_factory=dict)

    def _sum(self, index: int, kinds=None, types=None, months=None) -> int:
        return sum(v[index] for (m, k, t), v in self.cells.items()
                   if (kinds is None or k in kinds) and (types is None or t in types)
                   and (months is None or m in months))

    @property
    def money_in(self) -> int:
        """What donors and enterprises have paid in, net of refunds."""
        return -self._sum(1, types=OUTSIDE)

    @property
    def to_needs(self) -> int:
        """Credited to needs (donations, pledge allocations, fund grants)."""
        return self._sum(0, types=("need",))

    def to_needs_by_kind(self) -> list[tuple[str, int]]:
        """What to_needs adds up, per transaction kind (donation, allocation, grant …)."""
        totals: dict[str, int] = defaultdict(int)
        for (_m, kind, account_type), (positive, _net) in self.cells.items():
            if account_type == "need" and positive:
                totals[kind] += positive
        return sorted(totals.items(), key=lambda r: -r[1])

    @property
    def disbursed(self) -> int:
        return self._sum(1, types=("disbursed",))

    @property
    def held(self) -> int:
        return self.money_in - self.disbursed

    def by_kind(self) -> list[tuple[str, int, int]]:
        """(kind, transactions, money moved) — money moved is the sum of positive postings."""
        totals: dict[str, int] = defaultdict(int)
        for (_m, kind, _t), (positive, _net) in self.cells.items():
            totals[kind] += positive
        return sorted(((k, self.txn_counts.get(k, 0), totals.get(k, 0))
                       for k in set(totals) | set(self.txn_counts)), key=lambda r: -r[2])

    def monthly(self) -> list[tuple[str, int, int, int]]:
        """(YYYY-MM, money in, raised for needs, disbursed) per month."""
        months: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for (month, _kind, kind_type), (positive, net) in self.cells.items():
            if kind_type in OUTSIDE:
                months[month][0] -= net
            elif kind_type == "need":
                months[month][1] += positive
            elif kind_type == "disbursed":
                months[month][2] += net
        return [(m, *months[m]) for m in sorted(months)]


_cache_lock = threading.Lock()
_ledger_cache: dict[str, LedgerSummary] = {}


def clear_cache() -> None:
    with _cache_lock:
        _ledger_cache.clear()


def _cache_key(session: Session) -> str:
    return str(session.get_bind().url)


def ledger_head(session: Session) -> tuple[int, str]:
    row = session.execute(
        select(LedgerTxn.seq, LedgerTxn.hash).order_by(LedgerTxn.seq.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, "")


def _add_range(session: Session, summary: LedgerSummary, after: int, upto: int) -> None:
    account_type = _account_type()
    month = _month(session, LedgerTxn.at)
    rows = session.execute(
        select(month, LedgerTxn.kind, account_type,
               func.sum(case((LedgerPosting.amount > 0, LedgerPosting.amount), else_=0)),
               func.sum(LedgerPosting.amount))
        .select_from(LedgerPosting).join(LedgerTxn, LedgerTxn.seq == LedgerPosting.seq)
        .where(LedgerPosting.seq > after, LedgerPosting.seq <= upto)
        .group_by(month, LedgerTxn.kind, account_type)).all()
    for m, kind, kind_type, positive, net in rows:
        cell = summary.cells.setdefault((m, kind, kind_type), [0, 0])
        cell[0] += int(positive or 0)
        cell[1] += int(net or 0)
    for kind, count in session.execute(
            select(LedgerTxn.kind, func.count()).where(LedgerTxn.seq > after, LedgerTxn.seq <= upto)
            .group_by(LedgerTxn.kind)).all():
        summary.txn_counts[kind] = summary.txn_counts.get(kind, 0) + int(count)


def ledger_summary(session: Session) -> LedgerSummary:
    """Totals of the whole ledger up to its head; reads only what is new since last time."""
    seq, head_hash = ledger_head(session)
    key = _cache_key(session)
    with _cache_lock:
        cached = _ledger_cache.get(key)
    if cached and cached.upto_seq == seq and cached.upto_hash == head_hash:
        return cached
    base = LedgerSummary()
    if cached and 0 < cached.upto_seq < seq:
        old = session.execute(select(LedgerTxn.hash).where(LedgerTxn.seq == cached.upto_seq)).scalar()
        if old == cached.upto_hash:  # same chain, only longer: add the new part
            base = LedgerSummary(cached.upto_seq, cached.upto_hash,
                                 {k: list(v) for k, v in cached.cells.items()},
                                 dict(cached.txn_counts))
    _add_range(session, base, base.upto_seq, seq)
    base.upto_seq, base.upto_hash = seq, head_hash
    with _cache_lock:
        _ledger_cache[key] = base
    return base
