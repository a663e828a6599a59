"""The four-eyes path of a community-fund grant, on its transfer record:
proposed → approved (one approval, or two distinct ones above the fund's
`second_approval_over`) → executed; any manager's rejection declines it. Who may approve is
core.policy's business (grant.approve on the fund); this module keeps the states straight."""
from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, func, select

from core.audit import record
from core.errors import UserError
from core.money import Money, require_positive
from funds.models import Allocation, Approval, CommunityFund, LedgerTxn
from needs.funding import execute_grant, need_open_for
from needs.models import Need


def propose_grant(session: Session, fund: CommunityFund, need: Need, amount: Money,
                  reason: str = "", match_run_id: int | None = None) -> Allocation:
    amount = require_positive(amount)
    if fund.per_grant_cap is not None and amount > fund.per_grant_cap:
        raise UserError("超过该基金的单笔上限")
    need_open_for(session, need, amount)
    transfer = Allocation(need_id=need.id, fund_id=fund.id, amount=amount, status="proposed",
                          reason=reason[:300], match_run_id=match_run_id)
    session.add(transfer)
    session.flush()
    record(session, "grant.propose", f"fund:{fund.code}", need=need.code, amount=int(amount),
           transfer=transfer.id)
    return transfer


def approvals_needed(fund: CommunityFund, amount: int) -> int:
    return 2 if fund.second_approval_over is not None and amount > fund.second_approval_over else 1


def approve(session: Session, transfer: Allocation, approver_id: int,
            reason: str = "") -> Allocation:
    """One manager approves; with enough approvals the grant is executed at once."""
    fund = _open_grant(session, transfer)
    already = session.exec(select(Approval).where(Approval.allocation_id == transfer.id,
                                                  Approval.approver_id == approver_id)).first()
    if already is not None:
        raise UserError("您已审批过这笔拨款")
    session.add(Approval(allocation_id=transfer.id, approver_id=approver_id, decision="approve",
                         reason=reason[:300]))
    session.flush()
    count = session.exec(select(func.count()).select_from(Approval).where(
        Approval.allocation_id == transfer.id, Approval.decision == "approve")).one()
    if count >= approvals_needed(fund, transfer.amount):
        _move(session, transfer, "proposed", "approved")
        execute_grant(session, transfer, fund, session.get(Need, transfer.need_id),
                      actor_id=approver_id)
    return transfer


def decline(session: Session, transfer: Allocation, approver_id: int, reason: str) -> Allocation:
    """A manager rejects the grant, with a reason; nothing moves."""
    if not reason.strip():
        raise UserError("请写明拒绝理由")
    fund = _open_grant(session, transfer)
    session.add(Approval(allocation_id=transfer.id, approver_id=approver_id, decision="reject",
                         reason=reason.strip()[:300]))
    _move(session, transfer, "proposed", "declined")
    record(session, "grant.decline", f"fund:{fund.code}", approver_id, transfer=transfer.id)
    return transfer


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
