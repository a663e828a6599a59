"""Totals of the whole ledger (money in, to needs, disbursed; by kind and month), read from
the per-month totals the ledger keeps on append, and cached by the head transaction."""
from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

from sqlmodel import Session, select

from funds.ledger_aggregates import LedgerMonthTotal
from funds.models import LedgerTxn

OUTSIDE = ("donor", "enterprise")  # money enters the platform from these accounts


@dataclass
class LedgerSummary:
    upto_seq: int = 0
    upto_hash: str = ""
    # (month, kind, account type) → [sum of positive postings, sum of all postings]
    cells: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    txn_counts: dict[str, int] = field(default_factory=dict)
    # Derived figures, computed once per summary (a summary never changes once read; the
    # next head is a new summary): a page view no longer walks every cell for each figure.
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def _once(self, key, compute):
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = compute()
            return value

    def _sum(self, index: int, kinds=None, types=None, months=None) -> int:
        return self._once(("sum", index, kinds, types, months), lambda: sum(
            v[index] for (m, k, t), v in self.cells.items()
            if (kinds is None or k in kinds) and (types is None or t in types)
            and (months is None or m in months)))

    @property
    def money_in(self) -> int:
        """What donors and enterprises have paid in, net of refunds."""
        return -self._sum(1, types=OUTSIDE)

    @property
    def to_needs(self) -> int:
        """Credited to needs (donations, pledge allocations, fund grants)."""
        return self._sum(0, types=("need",))

    def to_needs_by_kind(self) -> list[tuple[str, int]]:
        return self._once("to_needs_by_kind", self._to_needs_by_kind)

    def _to_needs_by_kind(self) -> list[tuple[str, int]]:
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
        return self._once("by_kind", self._by_kind)

    def _by_kind(self) -> list[tuple[str, int, int]]:
        """(kind, transactions, money moved) — money moved is the sum of positive postings."""
        totals: dict[str, int] = defaultdict(int)
        for (_m, kind, _t), (positive, _net) in self.cells.items():
            totals[kind] += positive
        return sorted(((k, self.txn_counts.get(k, 0), totals.get(k, 0))
                       for k in set(totals) | set(self.txn_counts)), key=lambda r: -r[2])

    def monthly(self) -> list[tuple[str, int, int, int]]:
        return self._once("monthly", self._monthly)

    def _monthly(self) -> list[tuple[str, int, int, int]]:
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


_HEAD = select(LedgerTxn.seq, LedgerTxn.hash).order_by(LedgerTxn.seq.desc()).limit(1)


def ledger_head(session: Session) -> tuple[int, str]:
    # On the session's connection: a Core read needs none of the ORM's execution steps.
    row = session.connection().execute(_HEAD).first()
    return (row[0], row[1]) if row else (0, "")


def _read_totals(session: Session, seq: int, head_hash: str) -> LedgerSummary:
    summary = LedgerSummary(seq, head_hash)
    for m, kind, kind_type, positive, net, txns in session.execute(
            select(LedgerMonthTotal.month, LedgerMonthTotal.kind, LedgerMonthTotal.account_type,
                   LedgerMonthTotal.positive, LedgerMonthTotal.net, LedgerMonthTotal.txns)).all():
        summary.cells[(m, kind, kind_type)] = [int(positive), int(net)]
        summary.txn_counts[kind] = summary.txn_counts.get(kind, 0) + int(txns)
    return summary


def ledger_summary(session: Session) -> LedgerSummary:
    """Totals of the whole ledger up to its head, read from the totals kept on append
    (funds.ledger_aggregates: a few hundred rows), cached until the head moves."""
    seq, head_hash = ledger_head(session)
    key = _cache_key(session)
    with _cache_lock:
        cached = _ledger_cache.get(key)
    if cached and cached.upto_seq == seq and cached.upto_hash == head_hash:
        return cached
    summary = _read_totals(session, seq, head_hash)
    with _cache_lock:
        _ledger_cache[key] = summary
    return summary
