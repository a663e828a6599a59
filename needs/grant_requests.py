"""An organisation asks a community fund for a 小急难 grant for one of its own verified
micro-grant needs. The request is a proposed transfer with its requester
(needs/transfers.propose_grant), so it joins the fund manager's queue, and the four-eyes
rules (needs/grant_rules.check_approver) keep the requester and every member of the
organisation from approving it."""
from __future__ import annotations

from sqlmodel import Session, select

from core.errors import UserError
from core.money import Money, require_positive
from core.regions import within
from funds.models import Allocation, CommunityFund
from needs.models import Need
from needs.transfers import propose_grant

KIND = "microgrant"


def eligible_funds(session: Session, need: Need) -> list[CommunityFund]:
    """The funds that could pay this need: its area covers the need, it pays 小急难, and it
    has money left. (propose_grant re-checks all of it when the request is made.)"""
    funds = session.exec(select(CommunityFund).where(CommunityFund.balance > 0)
                         .order_by(CommunityFund.name, CommunityFund.id)).all()
    return [f for f in funds if within(need.region, f.region)
            and (not f.need_kinds or KIND in f.need_kinds)]


def requests_of(session: Session, need: Need) -> list[tuple[Allocation, CommunityFund]]:
    """The fund requests made for this need, newest first, with their funds."""
    return list(session.exec(
        select(Allocation, CommunityFund).join(CommunityFund,
                                               CommunityFund.id == Allocation.fund_id)
        .where(Allocation.need_id == need.id, Allocation.requested_by.is_not(None))
        .order_by(Allocation.id.desc())).all())


def request_grant(session: Session, need: Need, fund: CommunityFund, amount: Money,
                  requester_id: int, reason: str) -> Allocation:
    """File the request, or refuse with a clear message and write nothing."""
    amount = require_positive(amount)
    reason = (reason or "").strip()
    if need.kind != KIND:
        raise UserError("只有小急难需求可以向社区基金申请拨款")
    if not reason:
        raise UserError("请写明申请理由")
    # Lock the need's row: a form sent twice at once files one request, not two.
    session.exec(select(Need.id).where(Need.id == need.id).with_for_update()).one()
    pending = session.exec(select(Allocation.id).where(
        Allocation.need_id == need.id, Allocation.fund_id == fund.id,
        Allocation.status == "proposed")).first()
    if pending is not None:
        raise UserError("已向该基金申请过这笔拨款，正在审批中")
    if amount > fund.balance:
        raise UserError("超过该基金的余额（%(balance)s）", balance=Money.fen(fund.balance))
    return propose_grant(session, fund, need, amount, reason=reason, requested_by=requester_id)
