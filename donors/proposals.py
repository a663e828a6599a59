"""Proposals of a matching run and their review. A pledge's proposal goes to the
enterprise's reviewer; a fund's to its managers, with four-eyes as for any grant
(needs/transfers.py). Accepting re-checks everything at that moment in one unit of work —
the need still open, the source's rules, its money, the reviewer — and moves the money with
its ledger transaction; otherwise it is refused and nothing moves. Two reviewers accepting
conflicting proposals at once: the conditional updates let one win."""
from __future__ import annotations

from sqlalchemy import update
from sqlmodel import Session, select

from core.audit import record
from core.clock import aware, now
from core.errors import UserError
from core.users import Membership
from donors.models import Pledge
from donors.services import execute_pledge_allocation
from funds.models import Allocation, MatchRun
from needs import transfers
from needs.models import Need


def may_review(session: Session, proposal: Allocation, reviewer_id: int) -> bool:
    roles = session.exec(select(Membership).where(Membership.user_id == reviewer_id)).all()
    if proposal.pledge_id is not None:
        pledge = session.get(Pledge, proposal.pledge_id)
        return any(m.role == "enterprise_reviewer" and m.enterprise_id == pledge.enterprise_id
                   for m in roles)
    return any(m.role == "fund_manager" and m.fund_id == proposal.fund_id for m in roles)


def accept(session: Session, proposal: Allocation, reviewer_id: int, reason: str = "") -> Allocation:
    """Accept one proposal: the money moves now, or a clear refusal and nothing moves."""
    _check_open(session, proposal, reviewer_id)
    need = session.get(Need, proposal.need_id)
    _check_partners(session, proposal, need)
    if proposal.fund_id is not None:
        return transfers.approve(session, proposal, reviewer_id, reason)
    result = session.execute(update(Allocation).where(
        Allocation.id == proposal.id, Allocation.status == "proposed")
        .values(status="approved", reason=reason[:300]))
    if result.rowcount != 1:
        raise UserError("这项提议已有结果")
    session.refresh(proposal)
    session.refresh(need)
    if need.state != "verified":
        raise UserError("该需求已筹满或不再开放，提议不能接受")
    execute_pledge_allocation(session, proposal, session.get(Pledge, proposal.pledge_id), need)
    record(session, "proposal.accept", f"allocation:{proposal.id}", reviewer_id,
           need=need.code, amount=proposal.amount)
    return proposal


def decline(session: Session, proposal: Allocation, reviewer_id: int, reason: str) -> Allocation:
    if not reason.strip():
        raise UserError("请写明拒绝理由")
    _check_open(session, proposal, reviewer_id)
    if proposal.fund_id is not None:
        return transfers.decline(session, proposal, reviewer_id, reason)
    result = session.execute(update(Allocation).where(
        Allocation.id == proposal.id, Allocation.status == "proposed")
        .values(status="declined", reason=reason.strip()[:300]))
    if result.rowcount != 1:
        raise UserError("这项提议已有结果")
    session.refresh(proposal)
    record(session, "proposal.decline", f"allocation:{proposal.id}", reviewer_id,
           reason=reason.strip()[:300])
    return proposal


def open_proposals(session: Session, run: MatchRun, reviewer_id: int) -> list[Allocation]:
    """The run's unanswered proposals this reviewer may decide on."""
    rows = session.exec(select(Allocation).where(Allocation.match_run_id == run.id,
                                                 Allocation.status == "proposed")
                        .order_by(Allocation.id)).all()
    return [p for p in rows if may_review(session, p, reviewer_id)]


def accept_all(session: Session, run: MatchRun, reviewer_id: int) -> int:
    """Accept every open proposal of the run this reviewer may decide on, after reading the
    summary. All or nothing: one refusal (a need funded meanwhile) refuses the whole step,
    naming the proposal, and the reviewer accepts the others one by one."""
    proposals = open_proposals(session, run, reviewer_id)
    if not proposals:
        raise UserError("这次运行没有待您审核的提议")
    for proposal in proposals:
        accept(session, proposal, reviewer_id, reason="全部接受")
    return len(proposals)


def _check_open(session: Session, proposal: Allocation, reviewer_id: int) -> None:
    session.refresh(proposal)
    if proposal.match_run_id is None:
        raise UserError("这不是匹配运行的提议")
    if proposal.status != "proposed":
        raise UserError("这项提议已有结果")
    if proposal.expires_at is not None and aware(proposal.expires_at) < now():
        raise UserError("这项提议已过答复期限，已失效")
    if not may_review(session, proposal, reviewer_id):
        raise UserError("您不能审核这项提议")


def _check_partners(session: Session, proposal: Allocation, need: Need) -> None:
    """A need the run shared between sources to fund it whole stands or falls with all of
    them: if a partner proposal was declined, this one is refused too."""
    if not need.whole:
        return
    declined = session.exec(select(Allocation.id).where(
        Allocation.match_run_id == proposal.match_run_id, Allocation.need_id == need.id,
        Allocation.id != proposal.id, Allocation.status == "declined")).first()
    if declined is not None:
        raise UserError("同一心愿的另一项提议已被拒绝，此提议不能接受")
