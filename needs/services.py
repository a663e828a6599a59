"""Organisations, programmes, beneficiaries and needs: creation and the verification flow."""
from __future__ import annotations

import os
from datetime import date

from sqlmodel import Session, select

from core.audit import record
from core.clock import now
from core.config import DEV_SECRET_KEY
from core.errors import UserError
from core.money import Money, require_positive
from core.outbox import defer
from core.regions import Region
from needs.duplicates import hash_key, id_number_hash
from needs.funding import CLOSED_UNFUNDED
from needs.models import (
    AGE_BANDS,
    CATEGORIES,
    NEED_KINDS,
    Beneficiary,
    BeneficiaryPrivate,
    Milestone,
    Need,
    Organisation,
    Programme,
)

RETURNS_JOB = "jobs.tasks.open_gift_returns"
CODE_PREFIX = {"wish": "W", "project": "J", "sponsorship": "S", "microgrant": "M"}
WHOLE_KINDS = ("wish", "sponsorship")  # funded whole by one source or not at all

# Allowed moves of the need life cycle; anything else is refused.
TRANSITIONS = {
    "draft": {"submitted", "cancelled"},
    "submitted": {"verified", "rejected", "cancelled", "draft"},  # draft: sent back for changes
    "verified": {"funded", "expired", "cancelled", "submitted"},  # submitted: edited, re-verify
    "funded": {"disbursed"},
    "disbursed": {"delivered"},
    "delivered": {"closed"},
}


def create_organisation(session: Session, name: str, region: str, kind: str = "charity",
                        status: str = "pending") -> Organisation:
    Region.parse(region)
    if not name.strip():
        raise UserError("机构名称不能为空")
    org = Organisation(name=name.strip(), region=region, kind=kind, status=status)
    session.add(org)
    session.flush()
    record(session, "organisation.create", f"organisation:{org.id}", name=org.name)
    return org


def create_programme(session: Session, code: str, name: str, region: str, summary: str = "",
                     organiser: str = "", source: str = "") -> Programme:
    Region.parse(region)
    programme = Programme(code=code, name=name, region=region, summary=summary,
                          organiser=organiser, source=source)
    session.add(programme)
    session.flush()
    return programme


def create_beneficiary(session: Session, organisation: Organisation, pseudonym: str,
                       age_band: str, region: str, *, full_name: str, id_number: str = "",
                       birth_date: date | None = None, address: str = "", school: str = "",
                       guardian_phone: str = "", is_minor: bool = True) -> Beneficiary:
    """Public part and private part are two rows; only the public part is ever listed."""
    Region.parse(region)
    if age_band not in AGE_BANDS:
        raise UserError("未知年龄段 %(age_band)s", age_band=age_band)
    if not pseudonym.strip() or not full_name.strip():
        raise UserError("化名和姓名都必须填写")
    # A masked number (3716**********12) comes from a caller that hashed the real one itself
    # (needs/posting.py, which flags cross-organisation matches for the verifier).
    plain = id_number.strip() and "*" not in id_number
    id_hash = beneficiary_id_hash(id_number) if plain else None
    if id_hash and session.exec(select(BeneficiaryPrivate.beneficiary_id).where(
            BeneficiaryPrivate.id_hash == id_hash)).first() is not None:
        raise UserError("该身份证号的受助人已登记，请勿重复登记")
    person = Beneficiary(code="", pseudonym=pseudonym.strip(), age_band=age_band,
                         region=region, is_minor=is_minor, organisation_id=organisation.id)
    session.add(person)
    session.flush()
    person.code = f"B-{person.id}"
    session.add(BeneficiaryPrivate(beneficiary_id=person.id, full_name=full_name,
                                   id_number=id_number, id_hash=id_hash, birth_date=birth_date, address=address,
                                   school=school, guardian_phone=guardian_phone))
    session.flush()
    record(session, "beneficiary.create", f"beneficiary:{person.code}")
    return person


def beneficiary_id_hash(id_number: str) -> str:
    """The keyed hash the duplicate check compares (never the number itself). The
    development key is used only while the deployment still runs on the development
    SECRET_KEY; a real deployment must set BENEFICIARY_HASH_KEY."""
    development = os.environ.get("SECRET_KEY", DEV_SECRET_KEY) == DEV_SECRET_KEY
    return id_number_hash(id_number, hash_key(debug=development))


def create_need(session: Session, organisation: Organisation, *, kind: str, title: str,
                amount: Money, category: str, region: str, story: str = "", urgency: int = 3,
                people: int = 1, deadline: date | None = None,
                programme: Programme | None = None,
                beneficiary: Beneficiary | None = None) -> Need:
    if kind not in NEED_KINDS:
        raise UserError("未知需求类型 %(kind)s", kind=kind)
    if category not in CATEGORIES:
        raise UserError("未知类别 %(category)s", category=category)
    require_positive(amount)
    if not isinstance(urgency, int) or not 1 <= urgency <= 5:
        raise UserError("紧急程度须为 1–5")
    if not isinstance(people, int) or people < 1:
        raise UserError("受益人数至少为 1")
    if not title.strip():
        raise UserError("标题不能为空")
    Region.parse(region)
    need = Need(kind=kind, title=title.strip(), story=story, amount=amount, category=category,
                region=region, urgency=urgency, people=people, deadline=deadline,
                whole=kind in WHOLE_KINDS, organisation_id=organisation.id,
                programme_id=programme.id if programme else None,
                beneficiary_id=beneficiary.id if beneficiary else None)
    session.add(need)
    session.flush()
    need.code = f"{CODE_PREFIX[kind]}-{need.id}"
    session.flush()
    record(session, "need.create", f"need:{need.code}", kind=kind, amount=amount)
    return need


def add_milestones(session: Session, need: Need, steps: list[tuple[str, int, date | None]]) -> list[Milestone]:
    milestones = [Milestone(need_id=need.id, seq=i, title=title, amount=amount, due=due)
                  for i, (title, amount, due) in enumerate(steps, start=1)]
    if sum(m.amount for m in milestones) > need.amount:
        raise UserError("里程碑金额合计超过需求金额")
    session.add_all(milestones)
    session.flush()
    return milestones


def move(session: Session, need: Need, to_state: str, actor_id: int | None = None,
         reason: str = "") -> Need:
    if to_state not in TRANSITIONS.get(need.state, set()):
        raise UserError("不能从“%(old)s”变为“%(new)s”", old=need.state, new=to_state)
    previous, need.state = need.state, to_state
    session.add(need)
    session.flush()
    record(session, f"need.{to_state}", f"need:{need.code}", actor_id, previous=previous,
           reason=reason)
    if to_state in CLOSED_UNFUNDED and need.funded > need.disbursed:
        # Money came in: each donor is asked where it goes (donors.returns, by a job
        # written in this unit of work, so it runs once this change commits).
        defer(session, RETURNS_JOB, need.id)
    return need


def cancel(session: Session, need: Need, actor_id: int | None, reason: str) -> Need:
    """The organisation withdraws a need that has not been funded in full, with a reason;
    money already given goes back through the donors' decisions (see `move`)."""
    reason = (reason or "").strip()
    if not reason:
        raise UserError("取消必须写明理由")
    if len(reason) > 300:
        raise UserError("理由最多 300 字")
    return move(session, need, "cancelled", actor_id, reason)


def expire_overdue(session: Session, today: date | None = None) -> int:
    """Verified needs whose deadline has passed and that are still not fully funded become
    expired (the daily job); their money then goes through the donors' decisions."""
    today = today or now().date()
    overdue = session.exec(select(Need).where(Need.state == "verified",
                                              Need.deadline.is_not(None),
                                              Need.deadline < today)).all()
    for need in overdue:
        move(session, need, "expired", reason="deadline")
    return len(overdue)


def submit(session: Session, need: Need, actor_id: int | None = None) -> Need:
    return move(session, need, "submitted", actor_id)


def verify(session: Session, need: Need, verifier_id: int | None = None) -> Need:
    """Only a verified need is shown or matched. Its beneficiary is verified with it."""
    move(session, need, "verified", verifier_id)
    need.verified_at = now()
    need.verified_by = verifier_id
    if need.beneficiary_id:
        person = session.get(Beneficiary, need.beneficiary_id)
        if person.verified_at is None:
            person.verified_at, person.verified_by = now(), verifier_id
    session.flush()
    return need


def reject(session: Session, need: Need, verifier_id: int | None, reason: str) -> Need:
    if not reason.strip():
        raise UserError("驳回必须写明理由")
    return move(session, need, "rejected", verifier_id, reason)
