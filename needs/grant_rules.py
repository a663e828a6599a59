"""Who may approve a community-fund grant and how many must: the four-eyes rules, shared
by the one-step grant (needs/funding.py) and the proposal path (needs/transfers.py)."""
from __future__ import annotations

from sqlmodel import Session, func, select

from core.errors import UserError
from core.money import Money
from core.users import Membership
from funds.models import Allocation, Approval, CommunityFund
from needs.models import Need

DEFAULT_SECOND_APPROVAL_OVER = Money.yuan(5_000)
DEFAULT_FAST_PATH_LIMIT = Money.yuan(500)


def approvals_needed(fund: CommunityFund, amount: Money) -> int:
    if fund.always_four_eyes:
        return 2
    threshold = fund.second_approval_over or DEFAULT_SECOND_APPROVAL_OVER
    return 2 if amount > threshold else 1


def fast_path_limit(fund: CommunityFund) -> Money:
    if fund.always_four_eyes:
        return Money.fen(0)
    return DEFAULT_FAST_PATH_LIMIT if fund.fast_path_limit is None else fund.fast_path_limit


def approval_count(session: Session, transfer: Allocation) -> int:
    return session.exec(select(func.count()).select_from(Approval).where(
        Approval.allocation_id == transfer.id, Approval.decision == "approve")).one()


def check_approver(session: Session, transfer: Allocation, fund: CommunityFund,
                   approver_id: int | None) -> None:
    """Refuse an approver who may not decide on this grant: only a manager of this fund,
    never the requester, never a member of the requesting organisation."""
    if approver_id is None:
        raise UserError("基金拨款须由该基金的管理员审批")
    roles = session.exec(select(Membership).where(Membership.user_id == approver_id)).all()
    if not any(m.role == "fund_manager" and m.fund_id == fund.id for m in roles):
        raise UserError("只有该基金的管理员可以审批")
    if transfer.requested_by is not None and transfer.requested_by == approver_id:
        raise UserError("申请人不能审批自己的申请")
    need = session.get(Need, transfer.need_id)
    if any(m.organisation_id == need.organisation_id for m in roles):
        raise UserError("申请机构的成员不能审批该机构的申请")


def check_enough_approvals(session: Session, transfer: Allocation, fund: CommunityFund) -> None:
    """The last guard before a grant's money moves: its approvals are all there (a fast-path
    grant needs one, within the fund's fast-path limit)."""
    count = approval_count(session, transfer)
    if transfer.review_due is not None:
        if count >= 1 and transfer.amount <= fast_path_limit(fund):
            return
        raise UserError("快速通道只用于不超过%(limit)s的小额急难拨款",
                        limit=Money.fen(fast_path_limit(fund)))
    needed = approvals_needed(fund, transfer.amount)
    if count < needed:
        raise UserError("这笔拨款需要%(needed)s位管理员审批，目前只有%(count)s位",
                        needed=needed, count=count)



