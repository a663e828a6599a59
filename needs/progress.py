"""A need's progress as its organisation records it: payouts, evidence, milestones, and
marking a milestone done with a photo of it (the photo is checked and stripped exactly like
any evidence photo: needs.evidence_upload)."""
from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from core.audit import record
from core.clock import now
from core.errors import UserError
from funds.models import Disbursement
from needs.evidence_upload import upload_photo
from needs.models import Evidence, Milestone, Need
from needs.uploads import IMAGES


def disbursements_of(session: Session, need: Need) -> list[Disbursement]:
    return list(session.exec(select(Disbursement).where(Disbursement.need_id == need.id)
                             .order_by(Disbursement.at, Disbursement.id)))


def evidence_of(session: Session, need: Need) -> list[Evidence]:
    return list(session.exec(select(Evidence).where(Evidence.need_id == need.id)
                             .order_by(Evidence.id)))


def milestones_of(session: Session, need: Need) -> list[Milestone]:
    return list(session.exec(select(Milestone).where(Milestone.need_id == need.id)
                             .order_by(Milestone.seq)))


def complete_milestone(session: Session, upload_dir: Path, need: Need, milestone_id: int,
                       data: bytes, filename: str | None, *, caption: str, shows_face: bool,
                       actor_id: int | None) -> Milestone:
    """Mark one of the need's milestones done, with the photo that shows it."""
    milestone = session.exec(select(Milestone).where(
        Milestone.id == milestone_id, Milestone.need_id == need.id)
        .with_for_update()).first()
    if milestone is None:
        raise UserError("该里程碑不属于此需求")
    if milestone.done_at is not None:
        raise UserError("该里程碑已完成")
    upload_photo(session, upload_dir, need, data, filename, caption=caption or milestone.title,
                 shows_face=shows_face, actor_id=actor_id, allowed=IMAGES)
    milestone.done_at = now()
    session.add(milestone)
    session.flush()
    record(session, "milestone.done", f"need:{need.code}", actor_id, milestone=milestone.id)
    return milestone
