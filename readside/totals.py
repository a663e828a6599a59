"""Platform totals for the home page and the disclosure index: need-side aggregates (by
category, county and programme, overdue projects) and the ledger's totals."""
from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, select

from core.clock import now
from core.data_version import LISTS, SITE, scope_version
from core.regions import county_path
from donors.models import Donation, Pledge
from funds.models import CommunityFund
from needs.models import PUBLIC_STATES, Need, Programme
from readside.ledger_totals import LedgerSummary, ledger_summary
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


def programmes_with_totals(session: Session) -> list[tuple[Programme, int, int, int]]:
    """(programme, needs, amount asked, amount funded) for every programme."""
    rows = session.exec(
        select(Programme, func.count(Need.id), func.coalesce(func.sum(Need.amount), 0),
               func.coalesce(func.sum(Need.funded), 0))
        .join(Need, (Need.programme_id == Programme.id) & Need.state.in_(PUBLIC_STATES),
              isouter=True)
        .group_by(Programme.id).order_by(Programme.id)).all()
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


def breakdown_columns():
    return (func.count(Need.id), func.coalesce(func.sum(Need.amount), 0),
            func.coalesce(func.sum(Need.funded), 0), func.coalesce(func.sum(Need.disbursed), 0))


def _compute_need_summary(session: Session, at: datetime) -> NeedSummary:
    public = Need.state.in_(PUBLIC_STATES)
    n, amount, funded, disbursed = session.exec(select(*breakdown_columns()).where(public)).one()
    by_category = [Breakdown(c, int(k), int(a), int(f), int(d)) for c, k, a, f, d in session.exec(
        select(Need.category, *breakdown_columns()).where(public).group_by(Need.category)
        .order_by(Need.category)).all()]
    counties: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for region, k, a, f, d in session.exec(  # grouped in SQL; folded to county level here
            select(Need.region, *breakdown_columns()).where(public).group_by(Need.region)).all():
        cell = counties[county_path(region)]
        for i, value in enumerate((k, a, f, d)):
            cell[i] += int(value)
    by_county = sorted((Breakdown(c, *v) for c, v in counties.items()),
                       key=lambda b: (-b.funded, b.label))
    programmes = [(p, Breakdown(p.name, int(k), int(a), int(f), int(d))) for p, k, a, f, d in
                  session.exec(select(Programme, *breakdown_columns())
                               .join(Need, (Need.programme_id == Programme.id) & public,
                                     isouter=True)
                               .group_by(Programme.id).order_by(Programme.id)).all()]
    overdue, overdue_count = overdue_needs(session, at, limit=50)
    return NeedSummary(int(n), int(amount), int(funded), int(disbursed), by_category, by_county,
                       programmes, overdue, overdue_count)


_cache_lock = threading.Lock()
_need_cache: dict[str, tuple[tuple, NeedSummary]] = {}


def clear_cache() -> None:
    with _cache_lock:
        _need_cache.clear()


def need_summary(session: Session) -> NeedSummary:
    """Cached until money moves or anything else changes (the `lists` and `site` data
    scopes), and for at most a minute (overdue flags)."""
    at = now()
    key = (scope_version(session, SITE, LISTS), at.replace(second=0))
    url = str(session.get_bind().url)
    with _cache_lock:
        cached = _need_cache.get(url)
    if cached and cached[0] == key:
        return cached[1]
    summary = _compute_need_summary(session, at)
    for need in summary.overdue:
        session.expunge(need)
    with _cache_lock:
        _need_cache[url] = (key, summary)
    return summary


@dataclass
class Platform:
    ledger: LedgerSummary
    needs: NeedSummary


def platform(session: Session) -> Platform:
    return Platform(ledger_summary(session), need_summary(session))
