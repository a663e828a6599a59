"""The four-eyes path of a community-fund grant, on its transfer record:
proposed → approved (one approval, or two distinct ones above the fund's threshold — default
¥5,000 — and on every grant of a fund with `always_four_eyes`, such as 安心纾困) → executed;
any manager's rejection declines it. The service itself checks who approves, whatever
called it: a manager of this fund, not the requester, not a member of the requesting
organisation, and each manager once.

The fast path: a small urgent grant (≤ the fund's fast-path limit, default ¥500) is paid at
once on one manager's word and must be reviewed by a manager within 7 days; overdue
reviews are flagged (`overdue_reviews`)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from core.audit import record
from core.clock import aware, now
from core.errors import UserError
from core.money import Money, require_positive
from funds.models import Allocation, Approval, CommunityFund, LedgerTxn
from needs.funding import execute_grant, fund_rules, need_open_for
from needs.grant_rules import approval_count, approvals_needed, check_approver, fast_path_limit
from needs.models import Need
from needs.source_rules import check_rules

FAST_PATH_REVIEW_WITHIN = timedelta(days=7)


def propose_grant(session: Session, fund: CommunityFund, need: Need, amount: Money,
                  reason: str = "", match_run_id: int | None = None,
                  requested_by: int | None = None) -> Allocation:
    amount = require_positive(amount)
    check_rules(session, fund_rules(fund), need, amount)
    need_open_for(session, need, amount)
    transfer = Allocation(need_id=need.id, fund_id=fund.id, amount=amount, status="proposed",
                          reason=reason[:300], match_run_id=match_run_id,
                          requested_by=requested_by)
    session.add(transfer)
    session.flush()
    record(session, "grant.propose", f"fund:{fund.code}", requested_by, need=need.code,
           amount=int(amount), transfer=transfer.id)
    return transfer


def approve(session: Session, transfer: Allocation, approver_id: int,
            reason: str = "") -> Allocation:
    """One manager approves; with enough approvals the grant is executed at once."""
    fund = _open_grant(session, transfer)
    check_approver(session, transfer, fund, approver_id)
    already = session.exec(select(Approval).where(Approval.allocation_id == transfer.id,
                                                  Approval.approver_id == approver_id)).first()
    if already is not None:
        raise UserError("您已审批过这笔拨款")
    session.add(Approval(allocation_id=transfer.id, approver_id=approver_id, decision="approve",
                         reason=reason[:300]))
    session.flush()
    record(session, "grant.approve", f"fund:{fund.code}", approver_id, transfer=transfer.id,
           reason=reason[:300])
    if approval_count(session, transfer) >= approvals_needed(fund, transfer.amount):
        _move(session, transfer, "proposed", "approved")
        execute_grant(session, transfer, fund, session.get(Need, transfer.need_id),
                      actor_id=approver_id)
    return transfer


def decline(session: Session, transfer: Allocation, approver_id: int, reason: str) -> Allocation:
    """A manager rejects the grant, with a reason; nothing moves."""
    if not reason.strip():
        raise UserError("请写明拒绝理由")
    fund = _open_grant(session, transfer)
    check_approver(session, transfer, fund, approver_id)
    session.add(Approval(allocation_id=transfer.id, approver_id=approver_id, decision="reject",
                         reason=reason.strip()[:300]))
    _move(session, transfer, "proposed", "declined")
    record(session, "grant.decline", f"fund:{fund.code}", approver_id, transfer=transfer.id,
           reason=reason.strip()[:300])
    return transfer


def fast_grant(session: Session, fund: CommunityFund, need: Need, amount: Money,
               approver_id: int, reason: str, requested_by: int | None = None) -> Allocation:
    """A small urgent grant paid at once on one manager's word, to be reviewed within 7
    days. Refused above the fund's fast-path limit and on four-eyes-always funds."""
    amount = require_positive(amount)
    _check_fast(fund, amount, reason)
    transfer = propose_grant(session, fund, need, amount, reason=reason,
                             requested_by=requested_by)
    return fast_track(session, transfer, approver_id, reason)


def fast_track(session: Session, transfer: Allocation, approver_id: int,
               reason: str) -> Allocation:
    """Pay a proposed grant (a 小急难 request in the queue) at once on one manager's word,
    if it is within the fund's fast-path limit; another manager reviews it within 7 days."""
    fund = _open_grant(session, transfer)
    _check_fast(fund, transfer.amount, reason)
    check_approver(session, transfer, fund, approver_id)
    if session.exec(select(Approval.id).where(Approval.allocation_id == transfer.id,
                                              Approval.decision == "approve")).first():
        raise UserError("这笔拨款已在常规审批中，不能再走快速通道")
    session.add(Approval(allocation_id=transfer.id, approver_id=approver_id, decision="approve",
                         reason=reason.strip()[:300]))
    transfer.review_due = now() + FAST_PATH_REVIEW_WITHIN
    session.flush()
    _move(session, transfer, "proposed", "approved")
    execute_grant(session, transfer, fund, session.get(Need, transfer.need_id),
                  actor_id=approver_id)
    record(session, "grant.fast_path", f"fund:{fund.code}", approver_id, transfer=transfer.id,
           reason=reason.strip()[:300])
    return transfer


def _check_fast(fund: CommunityFund, amount: Money, reason: str) -> None:
    if not reason.strip():
        raise UserError("请写明快速拨款的理由")
    if amount > fast_path_limit(fund):
        raise UserError("快速通道只用于不超过%(limit)s的小额急难拨款",
                        limit=Money.fen(fast_path_limit(fund)))


def review_fast_grant(session: Session, transfer: Allocation, reviewer_id: int,
                      reason: str) -> Allocation:
    """The after-the-fact review of a fast-path grant, by a manager other than the payer."""
    if transfer.review_due is None:
        raise UserError("这不是快速通道拨款")
    if transfer.reviewed_at is not None:
        raise UserError("这笔快速拨款已复核")
    if not reason.strip():
        raise UserError("请写明复核意见")
    fund = session.get(CommunityFund, transfer.fund_id)
    check_approver(session, transfer, fund, reviewer_id)
    payer = session.exec(select(Approval.approver_id).where(
        Approval.allocation_id == transfer.id)).first()
    if payer == reviewer_id:
        raise UserError("快速拨款须由另一位管理员复核")
    result = session.execute(update(Allocation).where(
        Allocation.id == transfer.id, Allocation.reviewed_at.is_(None))
        .values(reviewed_at=now(), reviewed_by=reviewer_id))
    if result.rowcount != 1:
        raise UserError("这笔快速拨款已复核")
    session.refresh(transfer)
    record(session, "grant.review", f"fund:{fund.code}", reviewer_id, transfer=transfer.id,
           reason=reason.strip()[:300])
    return transfer


def is_overdue(transfer: Allocation) -> bool:
    return (transfer.review_due is not None and transfer.reviewed_at is None
            and aware(transfer.review_due) < now())


def overdue_reviews(session: Session, fund: CommunityFund | None = None) -> list[Allocation]:
    query = select(Allocation).where(Allocation.review_due.is_not(None),
                                     Allocation.reviewed_at.is_(None),
                                     Allocation.review_due < now())
    if fund is not None:
        query = query.where(Allocation.fund_id == fund.id)
    return list(session.exec(query.order_by(Allocation.review_due)).all())


def executed_txn(session: Session, transfer: Allocation) -> LedgerTxn | None:
    return session.get(LedgerTxn, transfer.ledger_seq) if transfer.ledger_seq else None


def _open_grant(session: Session, transfer: Allocation) -> CommunityFund:
    if transfer.fund_id is None:
        raise UserError("这不是基金拨款")
    session.refresh(transfer)
    if transfer.status != "proposed":
        raise UserError("这笔拨款已有结果")
    return session.get(CommunityFund, transfer.fund_id)


def _move(session: Session, transfer: Allocation, old: str, new: str) -> None:
    """Change state only from `old` (two managers deciding at once: one wins)."""
    result = session.execute(update(Allocation).where(Allocation.id == transfer.id,
                                                      Allocation.status == old)
                             .values(status=new))
    if result.rowcount != 1:
        raise UserError("这笔拨款已有结果")
    session.refresh(transfer)
