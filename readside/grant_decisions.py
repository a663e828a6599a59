"""A fund's public record of its grant decisions: each grant with every approval or
rejection and its reason, in order. Public-safe: the need's code, public title and county,
never a beneficiary's data, and approvers only as "first/second approver", not by name."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from funds.models import Allocation, Approval, CommunityFund
from needs.models import PUBLIC_STATES, Need


@dataclass
class Decision:
    decision: str  # approve | reject
    reason: str
    at: datetime


@dataclass
class GrantRecord:
    need_code: str
    need_title: str
    region: str
    amount: int
    status: str
    fast_path: bool
    decisions: list[Decision] = field(default_factory=list)


def fund_decisions(session: Session, fund: CommunityFund, limit: int = 50) -> list[GrantRecord]:
    rows = session.exec(
        select(Allocation, Need).join(Need, Need.id == Allocation.need_id)
        .where(Allocation.fund_id == fund.id, Need.state.in_(PUBLIC_STATES),
               Allocation.status.in_(("executed", "declined")))
        .order_by(Allocation.id.desc()).limit(limit)).all()
    ids = [a.id for a, _n in rows]
    approvals: dict[int, list[Decision]] = {}
    for approval in session.exec(select(Approval).where(Approval.allocation_id.in_(ids or [0]))
                                 .order_by(Approval.at, Approval.id)).all():
        approvals.setdefault(approval.allocation_id, []).append(
            Decision(approval.decision, approval.reason, approval.at))
    return [GrantRecord(n.code, n.title, n.region, a.amount, a.status, a.review_due is not None,
                        approvals.get(a.id, [])) for a, n in rows]
