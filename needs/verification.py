"""The verifiers' queue and their decisions: verify, reject with a reason, or send back
with a request for changes. Each decision is in the audit log and mailed to the
organisation's staff by a job deferred through the outbox (sent after the commit)."""
from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import Session, select

from core.audit import AuditEntry
from core.errors import UserError
from core.outbox import defer
from needs import duplicate_check, post_kinds, services
from needs.models import Need

DECISIONS = ("verify", "reject", "send_back")
MAIL_JOB = "jobs.tasks.mail_verification_decision"


def queue(session: Session, regions: list[str]) -> list[Need]:
    """Submitted needs inside any of these regions (a 市 or 县 path), oldest submission first."""
    if not regions:
        return []
    inside = or_(*(or_(Need.region == r, Need.region.like(r.rstrip("/") + "/%"))
                   for r in regions))
    return list(session.exec(select(Need).where(Need.state == "submitted", inside)
                             .order_by(Need.submitted_at, Need.id)))


def decide(session: Session, need: Need, verifier_id: int, decision: str, reason: str = "") -> Need:
    reason = (reason or "").strip()
    if decision not in DECISIONS:
        raise UserError("请选择审核结果")
    if need.state != "submitted":
        raise UserError("这条需求不在待审核状态")
    if decision == "verify":
        if need.beneficiary_id and duplicate_check.open_flags(session, need.beneficiary_id):
            raise UserError("请先处理受益人的重复提示")
        if need.beneficiary_id and any(f.status == "duplicate" for f in
                                       duplicate_check.flags_of(session, need.beneficiary_id)):
            raise UserError("受益人已被标记为重复，不能通过；请驳回或退回修改")
        services.verify(session, need, verifier_id)
        post_kinds.propose_requested_grant(session, need)  # a 小急难 request: to its fund
    elif decision == "reject":
        services.reject(session, need, verifier_id, reason)
    else:
        if not reason:
            raise UserError("退回修改必须写明需要修改的内容")
        services.move(session, need, "draft", verifier_id, reason)
    defer(session, MAIL_JOB, need.id, decision, reason)
    return need


def last_decision(session: Session, need: Need) -> AuditEntry | None:
    """The latest verification decision on the need (what the organisation is told)."""
    return session.exec(select(AuditEntry)
                        .where(AuditEntry.target == f"need:{need.code}",
                               AuditEntry.action.in_(("need.verified", "need.rejected",
                                                      "need.draft")))
                        .order_by(AuditEntry.id.desc())).first()
