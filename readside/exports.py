"""Rows of the public CSV/Excel exports, streamed in batches (never a beneficiary field)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, case, func, or_
from sqlmodel import Session, select

from core.clock import aware
from core.regions import county_display
from donors.models import Enterprise, Pledge
from funds.models import Allocation, CommunityFund, LedgerPosting, LedgerTxn
from needs.models import PUBLIC_STATES, Need, Organisation, Programme

NEED_EXPORT_COLUMNS = ("code", "kind", "title", "category", "county", "programme", "organisation",
                       "amount_fen", "funded_fen", "disbursed_fen", "state", "people",
                       "deadline", "verified_at", "last_disclosed_at")


NEED_EXPORT_COLUMNS = ("code", "kind", "title", "category", "county", "programme", "organisation",
                       "amount_fen", "funded_fen", "disbursed_fen", "state", "people",
                       "deadline", "verified_at", "last_disclosed_at")


def export_needs(session: Session, batch: int = 2000):
    """Public fields of every public need, streamed by id (never a beneficiary field)."""
    after = 0
    programmes = dict(session.execute(select(Programme.id, Programme.name)).all())
    organisations = dict(session.execute(select(Organisation.id, Organisation.name)).all())
    while True:
        rows = session.exec(select(Need).where(Need.id > after, Need.state.in_(PUBLIC_STATES))
                            .order_by(Need.id).limit(batch)).all()
        if not rows:
            return
        for n in rows:
            yield (n.code, n.kind, n.title, n.category, county_display(n.region),
                   programmes.get(n.programme_id, ""), organisations.get(n.organisation_id, ""),
                   n.amount, n.funded, n.disbursed, n.state, n.people,
                   n.deadline.isoformat() if n.deadline else "",
                   _iso(n.verified_at), _iso(n.last_disclosed_at))
        after = rows[-1].id


def _iso(moment: datetime | None) -> str:
    return aware(moment).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


LEDGER_EXPORT_COLUMNS = ("seq", "at", "kind", "ref", "memo", "account", "amount_fen", "hash")


def export_ledger(session: Session, accounts: list[str] | None = None, batch: int = 5000):
    """One row per posting, in seq order; optionally only postings of some accounts."""
    after_seq, after_id = 0, 0
    while True:
        query = (select(LedgerPosting.seq, LedgerTxn.at, LedgerTxn.kind, LedgerTxn.ref,
                        LedgerTxn.memo, LedgerPosting.account, LedgerPosting.amount,
                        LedgerTxn.hash, LedgerPosting.id)
                 .join(LedgerTxn, LedgerTxn.seq == LedgerPosting.seq)
                 .where(or_(LedgerPosting.seq > after_seq,
                            and_(LedgerPosting.seq == after_seq, LedgerPosting.id > after_id))))
        if accounts:
            query = query.where(LedgerPosting.account.in_(accounts))
        rows = session.execute(query.order_by(LedgerPosting.seq, LedgerPosting.id)
                               .limit(batch)).all()
        if not rows:
            return
        for seq, at, kind, ref, memo, account, amount, hash_, _id in rows:
            yield (seq, _iso(at), kind, ref, memo, account, int(amount), hash_)
        after_seq, after_id = rows[-1][0], rows[-1][8]


FUND_EXPORT_COLUMNS = ("code", "name", "county", "programme", "money_in_fen", "granted_fen",
                       "balance_fen")


def export_funds(session: Session):
    """Every fund with its ledger money in, grants out and balance (one grouped query)."""
    flows = {row[0]: row[1:] for row in session.execute(
        select(LedgerPosting.account,
               func.sum(case((LedgerPosting.amount > 0, LedgerPosting.amount), else_=0)),
               func.sum(case((LedgerPosting.amount < 0, LedgerPosting.amount), else_=0)))
        .where(LedgerPosting.account.startswith("fund:")).group_by(LedgerPosting.account)).all()}
    programmes = dict(session.execute(select(Programme.id, Programme.name)).all())
    for fund in session.exec(select(CommunityFund).order_by(CommunityFund.id)).all():
        money_in, money_out = flows.get(f"fund:{fund.code}", (0, 0))
        yield (fund.code, fund.name, county_display(fund.region),
               programmes.get(fund.programme_id, ""), int(money_in), -int(money_out),
               int(money_in) + int(money_out))


ENTERPRISE_EXPORT_COLUMNS = ("enterprise_code", "enterprise", "pledge", "need_code", "need_title",
                             "county", "allocated_fen", "need_disbursed_share_fen", "ledger_seq")


def export_enterprise_allocations(session: Session, code: str | None = None):
    """Where enterprises' money went: one row per executed allocation."""
    share = case((Need.funded > 0, Allocation.amount * Need.disbursed // Need.funded), else_=0)
    query = (select(Enterprise.code, Enterprise.name, Pledge.code, Need.code, Need.title,
                    Need.region, Allocation.amount, share, Allocation.ledger_seq)
             .select_from(Allocation).join(Pledge, Pledge.id == Allocation.pledge_id)
             .join(Enterprise, Enterprise.id == Pledge.enterprise_id)
             .join(Need, Need.id == Allocation.need_id)
             .where(Allocation.status == "executed", Enterprise.status == "approved"))
    if code:
        query = query.where(Enterprise.code == code)
    for ecode, ename, pcode, ncode, title, region, amount, s, seq in session.execute(
            query.order_by(Allocation.id)).yield_per(2000):
        yield (ecode, ename, pcode, ncode, title, county_display(region), int(amount), int(s),
               seq)
