"""Platform totals for the home page and the disclosure index: need-side aggregates (by
category, county and programme, overdue projects) and the ledger's totals."""
from __future__ import annotations

import threading
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, select

from core.clock import now
from core.data_version import LISTS, SITE, followed_version
from core.regions import county_path
from donors.models import Donation, Pledge
from funds.models import CommunityFund, LedgerPosting
from needs.models import PUBLIC_STATES, Need, Programme
from readside.ledger_totals import LedgerSummary, ledger_head, ledger_summary
from readside.rules import overdue_needs


@dataclass
class Totals:
    needs: int
    money_in: int
    matched: int
    disbursed: int
    funds: int
    fund_balance: int
    enterprises_paid: int

    @property
    def held(self) -> int:
        return self.money_in - self.disbursed


def platform_totals(session: Session) -> Totals:
    needs, matched, disbursed = session.exec(
        select(func.count(Need.id), func.coalesce(func.sum(Need.funded), 0),
               func.coalesce(func.sum(Need.disbursed), 0))
        .where(Need.state.in_(PUBLIC_STATES))).one()
    donated = session.exec(select(func.coalesce(func.sum(Donation.amount), 0))
                           .where(Donation.status == "paid")).one()
    paid_in = session.exec(select(func.coalesce(func.sum(Pledge.paid_in), 0))).one()
    funds, fund_balance = session.exec(
        select(func.count(CommunityFund.id), func.coalesce(func.sum(CommunityFund.balance), 0))).one()
    return Totals(needs=needs, money_in=int(donated) + int(paid_in), matched=int(matched),
                  disbursed=int(disbursed), funds=funds, fund_balance=int(fund_balance),
                  enterprises_paid=int(paid_in))


def programmes_with_totals(session: Session, after_id: int | None = None,
                           limit: int | None = None) -> list[tuple[Programme, int, int, int]]:
    """(programme, needs, amount asked, amount funded) for every programme in id order (or
    `limit` of them after `after_id`: the API's keyset pages)."""
    query = (select(Programme, func.count(Need.id), func.coalesce(func.sum(Need.amount), 0),
                    func.coalesce(func.sum(Need.funded), 0))
             .join(Need, (Need.programme_id == Programme.id) & Need.state.in_(PUBLIC_STATES),
                   isouter=True)
             .group_by(Programme.id).order_by(Programme.id))
    if after_id is not None:
        query = query.where(Programme.id > after_id)
    if limit is not None:
        query = query.limit(limit)
    rows = session.exec(query).all()
    return [(p, n, int(a), int(f)) for p, n, a, f in rows]


@dataclass
class Breakdown:
    label: str
    needs: int
    amount: int
    funded: int
    disbursed: int


@dataclass
class NeedSummary:
    needs: int
    amount: int
    funded: int
    disbursed: int
    by_category: list[Breakdown]
    by_county: list[Breakdown]
    programmes: list[tuple[Programme, Breakdown]]
    overdue: list[Need]
    overdue_count: int

    @property
    def overdue_shown(self) -> tuple:
        """Everything the overdue list shows (a fragment's key, web.fragments)."""
        return (self.overdue_count, tuple((n.code, n.title, n.last_disclosed_at or n.verified_at)
                                          for n in self.overdue))

    @property
    def programmes_shown(self) -> tuple:
        """Everything the programmes table shows (a fragment's key)."""
        return tuple((p.code, p.name, b.needs, b.amount, b.funded, b.disbursed)
                     for p, b in self.programmes)


def breakdown_columns():
    return (func.count(Need.id), func.coalesce(func.sum(Need.amount), 0),
            func.coalesce(func.sum(Need.funded), 0), func.coalesce(func.sum(Need.disbursed), 0))


@dataclass
class _Tally:
    """[needs, amount, funded, disbursed] of public needs, whole and by category, county and
    programme id, as of ledger seq `seq` and site version `site`. Never changed once shared:
    brought forward into a new tally."""
    site: int
    seq: int
    total: list[int]
    category: dict[str, list[int]]
    county: dict[str, list[int]]
    programme: dict[int | None, list[int]]

    def add(self, category: str, region: str, programme_id, values) -> None:
        for cell in (self.total, self.category.setdefault(category, [0, 0, 0, 0]),
                     self.county.setdefault(county_path(region), [0, 0, 0, 0]),
                     self.programme.setdefault(programme_id, [0, 0, 0, 0])):
            for i, value in enumerate(values):
                cell[i] += int(value)

    def copy(self) -> _Tally:
        def deep(d):
            return {k: list(v) for k, v in d.items()}
        return _Tally(self.site, self.seq, list(self.total), deep(self.category),
                      deep(self.county), deep(self.programme))


@contextmanager
def _snapshot(session: Session):
    """A session whose statements all see one snapshot (PostgreSQL: REPEATABLE READ; a
    SQLite transaction already is one)."""
    if session.get_bind().dialect.name != "postgresql":
        yield session
        return
    with session.get_bind().connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin(), Session(bind=conn) as snap:
            yield snap


def _full_tally(session: Session, site: int) -> _Tally:
    """One grouped pass over the public needs (the only scan: on a `site` change)."""
    with _snapshot(session) as snap:
        seq = ledger_head(snap)[0]
        tally = _Tally(site, seq, [0, 0, 0, 0], {}, {}, {})
        for category, region, programme_id, *values in snap.exec(
                select(Need.category, Need.region, Need.programme_id, *breakdown_columns())
                .where(Need.state.in_(PUBLIC_STATES))
                .group_by(Need.category, Need.region, Need.programme_id)).all():
            tally.add(category, region, programme_id, values)
    return tally


def _advance(session: Session, tally: _Tally) -> _Tally:
    """Bring a tally forward by the ledger since its seq: funded = balance(need:) +
    balance(disbursed:) and disbursed = balance(disbursed:), the mirror columns' rule, so
    only the few new postings are read (seq order is commit order: appends are serialised
    until commit)."""
    head = ledger_head(session)[0]
    if head <= tally.seq:
        return tally
    deltas: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for account, amount in session.execute(
            select(LedgerPosting.account, func.sum(LedgerPosting.amount))
            .where(LedgerPosting.seq > tally.seq, LedgerPosting.seq <= head,
                   or_(LedgerPosting.account.startswith("need:"),
                       LedgerPosting.account.startswith("disbursed:")))
            .group_by(LedgerPosting.account)).all():
        kind, _, code = account.partition(":")
        deltas[code][0] += int(amount)
        if kind == "disbursed":
            deltas[code][1] += int(amount)
    moved = tally.copy()
    moved.seq = head
    if deltas:
        for code, category, region, programme_id in session.exec(
                select(Need.code, Need.category, Need.region, Need.programme_id)
                .where(Need.code.in_(list(deltas)), Need.state.in_(PUBLIC_STATES))).all():
            funded, disbursed = deltas[code]
            moved.add(category, region, programme_id, (0, 0, funded, disbursed))
    return moved


def _summary(session: Session, tally: _Tally, at: datetime) -> NeedSummary:
    def breakdown(label, cell):
        return Breakdown(label, *cell)

    by_category = [breakdown(c, v) for c, v in sorted(tally.category.items())]
    by_county = sorted((breakdown(c, v) for c, v in tally.county.items()),
                       key=lambda b: (-b.funded, b.label))
    programmes = [(p, breakdown(p.name, tally.programme.get(p.id, [0, 0, 0, 0])))
                  for p in session.exec(select(Programme).order_by(Programme.id)).all()]
    overdue, overdue_count = overdue_needs(session, at, limit=50)
    return NeedSummary(*tally.total, by_category, by_county, programmes, overdue, overdue_count)


_cache_lock = threading.Lock()
_tallies: dict[str, _Tally] = {}
_need_cache: dict[str, tuple[tuple, NeedSummary]] = {}


def clear_cache() -> None:
    with _cache_lock:
        _tallies.clear()
        _need_cache.clear()


def need_summary(session: Session) -> NeedSummary:
    """Cached until money moves or anything else changes (the `lists` and `site` data
    scopes), and for at most a minute (overdue flags). Money moving only brings the tallies
    forward by the new postings; anything else recounts the public needs."""
    at = now()
    versions = {SITE: followed_version(session, SITE), LISTS: followed_version(session, LISTS)}
    key = (versions[SITE], versions[LISTS], at.replace(second=0))
    url = str(session.get_bind().url)
    with _cache_lock:
        cached = _need_cache.get(url)
        tally = _tallies.get(url)
    if cached and cached[0] == key:
        return cached[1]
    if tally is None or tally.site != versions[SITE]:
        tally = _full_tally(session, versions[SITE])
    else:
        tally = _advance(session, tally)
    summary = _summary(session, tally, at)
    for obj in (*summary.overdue, *(p for p, _ in summary.programmes)):
        session.expunge(obj)
    with _cache_lock:
        _tallies[url] = tally
        _need_cache[url] = (key, summary)
    return summary


@dataclass
class Platform:
    ledger: LedgerSummary
    needs: NeedSummary


def platform(session: Session) -> Platform:
    return Platform(ledger_summary(session), need_summary(session))
