"""Disclosure pages of community funds, donor enterprises and programmes."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func
from sqlmodel import Session, select

from core.errors import NotFound
from donors.models import Donation, Enterprise, Pledge
from funds.models import Allocation, CommunityFund, LedgerPosting, LedgerTxn
from needs.models import PUBLIC_STATES, Need, Programme
from readside import keyset
from readside.keyset import SortKey
from readside.ledger_pages import PER_PAGE, TxnRow, account_flows, account_txns
from readside.totals import Breakdown, breakdown_columns


@dataclass
class FundPage:
    fund: CommunityFund
    programme: Programme | None
    money_in: int
    granted: int  # money out: grants to needs
    balance: int  # ledger balance of fund:<code>
    first_seq: int | None
    last_seq: int | None
    txns: list[TxnRow]
    older: int | None


def fund_page(session: Session, code: str, before: int | None = None) -> FundPage:
    fund = session.exec(select(CommunityFund).where(CommunityFund.code == code)).first()
    if fund is None:
        raise NotFound("找不到社区基金 %(code)s", code=code)
    account = f"fund:{code}"
    money_in, out, balance, first, last = account_flows(session, [account])
    txns, older = account_txns(session, [account], before)
    return FundPage(fund, session.get(Programme, fund.programme_id) if fund.programme_id else None,
                    money_in, out, balance, first, last, txns, older)


def funds_list(session: Session, page: int = 1, per_page: int = PER_PAGE,
               after_id: int | None = None) -> tuple[list[CommunityFund], int]:
    """A page of community funds in id order: by page number, or (the API's keyset) the
    funds after `after_id`; and how many there are."""
    total = session.exec(select(func.count(CommunityFund.id))).one()
    query = select(CommunityFund).order_by(CommunityFund.id).limit(per_page)
    if after_id is not None:
        query = query.where(CommunityFund.id > after_id)
    else:
        query = query.offset((page - 1) * per_page)
    return list(session.exec(query).all()), int(total)


@dataclass
class AllocationRow:
    allocation: Allocation
    need: Need
    pledge_code: str
    disbursed_share: int  # the allocation's pro-rata share of what the need has disbursed


@dataclass
class EnterprisePage:
    enterprise: Enterprise
    pledges: list[Pledge]
    budget: int
    paid_in: int  # -(balance of enterprise:<code>): everything it paid through the ledger
    paid_to_pledges: int
    gifts_to_funds: int
    allocated: int  # moved out of its pledge accounts to needs
    unallocated: int  # still in its pledge accounts
    disbursed_share: int
    allocations: list[AllocationRow]
    allocation_count: int
    fund_gifts: list[tuple[CommunityFund, int, int]]  # (fund, amount, gifts)
    txns: list[TxnRow]
    older: int | None


def enterprise_page(session: Session, code: str, before: int | None = None,
                    page: int = 1) -> EnterprisePage:
    enterprise = session.exec(select(Enterprise).where(Enterprise.code == code,
                                                       Enterprise.status == "approved")).first()
    if enterprise is None:
        raise NotFound("找不到爱心企业 %(code)s", code=code)
    pledges = list(session.exec(select(Pledge).where(Pledge.enterprise_id == enterprise.id)
                                .order_by(Pledge.id)).all())
    own = f"enterprise:{code}"
    _in, out, _balance, _f, _l = account_flows(session, [own])
    by_kind = dict(session.execute(
        select(LedgerTxn.kind, func.sum(LedgerPosting.amount))
        .join(LedgerTxn, LedgerTxn.seq == LedgerPosting.seq)
        .where(LedgerPosting.account == own).group_by(LedgerTxn.kind)).all())
    pledge_accounts = [f"pledge:{p.code}" for p in pledges]
    p_in, p_out, p_balance = account_flows(session, pledge_accounts)[:3] if pledges else (0, 0, 0)
    mine = (Allocation.pledge_id == Pledge.id) & (Pledge.enterprise_id == enterprise.id)
    executed = Allocation.status == "executed"
    share = case((Need.funded > 0, Allocation.amount * Need.disbursed // Need.funded), else_=0)
    count, disbursed_share = session.execute(
        select(func.count(Allocation.id), func.coalesce(func.sum(share), 0))
        .select_from(Allocation).join(Pledge, mine).join(Need, Need.id == Allocation.need_id)
        .where(executed)).one()
    rows = session.execute(
        select(Allocation, Need, Pledge.code, share).join(Pledge, mine)
        .join(Need, Need.id == Allocation.need_id).where(executed)
        .order_by(Allocation.id.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    fund_gifts = [(f, int(a), int(n)) for f, a, n in session.execute(
        select(CommunityFund, func.sum(Donation.amount), func.count(Donation.id))
        .join(Donation, Donation.fund_id == CommunityFund.id)
        .where(Donation.enterprise_id == enterprise.id, Donation.status == "paid")
        .group_by(CommunityFund.id).order_by(func.sum(Donation.amount).desc()).limit(200)).all()]
    txns, older = account_txns(session, [own, *pledge_accounts], before)
    return EnterprisePage(
        enterprise=enterprise, pledges=pledges, budget=sum(p.budget for p in pledges),
        paid_in=out - _in, paid_to_pledges=-int(by_kind.get("pledge_payment") or 0),
        gifts_to_funds=-int(by_kind.get("donation") or 0), allocated=p_out,
        unallocated=p_balance, disbursed_share=int(disbursed_share),
        allocations=[AllocationRow(a, n, c, int(s)) for a, n, c, s in rows],
        allocation_count=int(count), fund_gifts=fund_gifts, txns=txns, older=older)


_PLEDGED = (select(Pledge.enterprise_id, func.sum(Pledge.budget).label("budget"),
                  func.sum(Pledge.paid_in).label("paid"))
            .group_by(Pledge.enterprise_id).subquery())
_GIVEN = (select(Donation.enterprise_id, func.sum(Donation.amount).label("given"))
          .where(Donation.status == "paid", Donation.fund_id.is_not(None),
                 Donation.enterprise_id.is_not(None))
          .group_by(Donation.enterprise_id).subquery())
_BUDGET = func.coalesce(_PLEDGED.c.budget, 0)
_PAID = func.coalesce(_PLEDGED.c.paid, 0)
_GIFTS = func.coalesce(_GIVEN.c.given, 0)
# Most money first (paid in to pledges plus given to funds), then by id.
ENTERPRISE_KEYS = (SortKey(_PAID + _GIFTS, True), SortKey(Enterprise.id))


def enterprises_list(session: Session, after: tuple | None = None, limit: int | None = None
                     ) -> list[tuple[Enterprise, int, int, int]]:
    """(enterprise, pledged budget, paid in to pledges, given to community funds) for approved
    enterprises, most money first. Gifts to funds count too: a fund's founders are not ¥0.
    `after` (the ENTERPRISE_KEYS of a row, see enterprise_key) and `limit` page it."""
    query = (select(Enterprise, _BUDGET, _PAID, _GIFTS)
             .join(_PLEDGED, _PLEDGED.c.enterprise_id == Enterprise.id, isouter=True)
             .join(_GIVEN, _GIVEN.c.enterprise_id == Enterprise.id, isouter=True)
             .where(Enterprise.status == "approved").order_by(*keyset.order_by(ENTERPRISE_KEYS)))
    if after is not None:
        query = query.where(keyset.after(ENTERPRISE_KEYS, after))
    if limit is not None:
        query = query.limit(limit)
    return [(e, int(b), int(p), int(g)) for e, b, p, g in session.execute(query).all()]


def enterprise_key(row: tuple[Enterprise, int, int, int]) -> tuple[int, int]:
    """The ENTERPRISE_KEYS values of a row of enterprises_list."""
    enterprise, _budget, paid, given = row
    return paid + given, enterprise.id


@dataclass
class ProgrammePage:
    programme: Programme
    totals: Breakdown
    by_state: list[tuple[str, int]]
    needs: list[Need]
    page: int
    pledges: list[tuple[Pledge, Enterprise]]
    funds: list[CommunityFund]
    funds_total: int
    fund_balance: int


def programme_page(session: Session, code: str, page: int = 1) -> ProgrammePage:
    programme = session.exec(select(Programme).where(Programme.code == code)).first()
    if programme is None:
        raise NotFound("找不到公益项目 %(code)s", code=code)
    where = (Need.programme_id == programme.id) & Need.state.in_(PUBLIC_STATES)
    k, a, f, d = session.exec(select(*breakdown_columns()).where(where)).one()
    by_state = [(s, int(n)) for s, n in session.exec(
        select(Need.state, func.count(Need.id)).where(where).group_by(Need.state)).all()]
    needs = session.exec(select(Need).where(where).order_by(Need.id)
                         .offset((page - 1) * PER_PAGE).limit(PER_PAGE)).all()
    pledges = session.exec(select(Pledge, Enterprise).join(
        Enterprise, Enterprise.id == Pledge.enterprise_id)
        .where(Pledge.programme_id == programme.id).order_by(Pledge.id)).all()
    fund_where = CommunityFund.programme_id == programme.id
    funds_total, fund_balance = session.exec(
        select(func.count(CommunityFund.id), func.coalesce(func.sum(CommunityFund.balance), 0))
        .where(fund_where)).one()
    funds = session.exec(select(CommunityFund).where(fund_where).order_by(CommunityFund.id)
                         .limit(200)).all()
    return ProgrammePage(programme, Breakdown(programme.name, int(k), int(a), int(f), int(d)),
                         by_state, list(needs), page, list(pledges), list(funds),
                         int(funds_total), int(fund_balance))
