"""Organisation staff post needs: beneficiaries entered once (public part, private part,
consent), 微心愿 created as drafts, edits, and submission for verification.

The 身份证号 is validated (GB 11643) and kept only as its HMAC (what duplicate checks
compare) and a masked form a verifier can read against the papers (371602********1234).
An edit to a verified need's story, amount or beneficiary sends it back to verification:
it leaves the public lists until a verifier verifies it again."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select

from core.audit import record
from core.clock import now, today
from core.errors import UserError
from core.identifiers import birth_date_of, validate_id_number
from core.money import Money, require_positive
from needs import duplicate_check, services
from needs.duplicates import id_number_hash
from needs.models import (
    AGE_BANDS,
    Beneficiary,
    BeneficiaryConsent,
    BeneficiaryPrivate,
    Need,
    NeedPostKey,
    Organisation,
)

EDITABLE_STATES = ("draft", "submitted", "verified")
REVERIFY_FIELDS = ("story", "amount", "beneficiary_id")


@dataclass(frozen=True)
class NewBeneficiary:
    pseudonym: str
    full_name: str
    id_number: str
    region: str
    address: str = ""
    school: str = ""
    guardian: str = ""
    guardian_phone: str = ""
    consent_by: str = ""
    consent_relation: str = "guardian"
    consent_on: date | None = None
    allow_photo: bool = False
    allow_story: bool = False


def mask_id_number(number: str) -> str:
    return number[:6] + "*" * 8 + number[-4:]


def age_band_of(born: date, on: date) -> str:
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    for band in AGE_BANDS:
        low, _, high = band.rstrip("+").partition("-")
        if int(low) <= age <= int(high or 200):
            return band
    return AGE_BANDS[0]


def require_approved(organisation: Organisation) -> None:
    if organisation.status != "approved":
        raise UserError("机构尚未通过审核，不能发布需求")


def add_beneficiary(session: Session, organisation: Organisation, data: NewBeneficiary,
                    actor_id: int | None, id_key: bytes) -> Beneficiary:
    """The beneficiary's public part, private part and consent record, in one go."""
    require_approved(organisation)
    number = validate_id_number(data.id_number)
    born = birth_date_of(number)
    if not data.consent_by.strip():
        raise UserError("请填写同意人姓名")
    if data.consent_on is None or data.consent_on > today():
        raise UserError("同意日期不能晚于今天")
    id_hash = id_number_hash(number, id_key)
    same = session.exec(select(Beneficiary.code)
                        .join(BeneficiaryPrivate,
                              BeneficiaryPrivate.beneficiary_id == Beneficiary.id)
                        .where(BeneficiaryPrivate.id_hash == id_hash,
                               Beneficiary.organisation_id == organisation.id)).first()
    if same:
        raise UserError("本机构已登记过这个身份证号的受益人（%(code)s），请直接选用",
                        code=same)
    band = age_band_of(born, today())
    person = services.create_beneficiary(
        session, organisation, data.pseudonym, band, data.region, full_name=data.full_name,
        id_number=mask_id_number(number), birth_date=born, address=data.address.strip(),
        school=data.school.strip(), guardian_phone=data.guardian_phone.strip(),
        is_minor=band in ("0-5", "6-11", "12-14", "15-17"))
    private = session.get(BeneficiaryPrivate, person.id)
    private.id_hash, private.guardian = id_hash, data.guardian.strip()
    session.add(private)
    session.add(BeneficiaryConsent(beneficiary_id=person.id, given_by=data.consent_by.strip(),
                                   relation=data.consent_relation, given_on=data.consent_on,
                                   allow_photo=data.allow_photo, allow_story=data.allow_story,
                                   recorded_by=actor_id))
    session.flush()
    return person


def beneficiaries_of(session: Session, organisation_id: int) -> list[Beneficiary]:
    return list(session.exec(select(Beneficiary)
                             .where(Beneficiary.organisation_id == organisation_id)
                             .order_by(Beneficiary.id)))


def own_beneficiary(session: Session, organisation: Organisation, beneficiary_id) -> Beneficiary:
    person = session.get(Beneficiary, beneficiary_id) if isinstance(beneficiary_id, int) else None
    if person is None or person.organisation_id != organisation.id:
        raise UserError("请选择本机构登记的受益人")
    return person


def own_beneficiary_by_code(session: Session, organisation: Organisation,
                            code: str) -> Beneficiary:
    """The organisation's beneficiary with this code (the API names them by code)."""
    person = session.exec(select(Beneficiary).where(Beneficiary.code == code)).first() \
        if code else None
    if person is None or person.organisation_id != organisation.id:
        raise UserError("请选择本机构登记的受益人")
    return person


def needs_page(session: Session, organisation_id: int, per_page: int,
               before_id: int | None = None) -> tuple[list[Need], int]:
    """The organisation's needs, newest first, in every state: `per_page` of them with an id
    below `before_id` (a keyset page); and how many it has in all."""
    where = Need.organisation_id == organisation_id
    total = session.exec(select(func.count()).select_from(Need).where(where)).one()
    query = select(Need).where(where).order_by(Need.id.desc()).limit(per_page)
    if before_id is not None:
        query = query.where(Need.id < before_id)
    return list(session.exec(query).all()), int(total)


def need_by_code(session: Session, code: str) -> Need | None:
    return session.exec(select(Need).where(Need.code == code)).first()


def beneficiary_code(session: Session, beneficiary_id: int | None) -> str | None:
    person = session.get(Beneficiary, beneficiary_id) if beneficiary_id else None
    return person.code if person else None


def api_post_key() -> str:
    """A one-time post key for a need posted through the API (whose retries are caught by
    its Idempotency-Key instead of the form's hidden key)."""
    return "api-" + secrets.token_hex(16)


def need_for_key(session: Session, key: str) -> Need | None:
    row = session.get(NeedPostKey, key) if key else None
    return session.get(Need, row.need_id) if row else None


def post_wish(session: Session, organisation: Organisation, actor_id: int | None, *,
              key: str, title: str, item: str, price: Money, category: str, region: str,
              beneficiary: Beneficiary, story: str = "", deadline: date | None = None) -> Need:
    """A 微心愿 draft: one item, its price, one beneficiary. `key` is the form's one-time key:
    the same form sent twice returns the need the first send created."""
    require_approved(organisation)
    existing = need_for_key(session, key)
    if existing is not None:
        return existing
    if not key or len(key) > 64:
        raise UserError("表单已失效，请重新打开")
    if beneficiary.organisation_id != organisation.id:
        raise UserError("请选择本机构登记的受益人")
    if not item.strip():
        raise UserError("请填写心愿物品")
    need = services.create_need(session, organisation, kind="wish", title=title,
                                amount=require_positive(price), category=category,
                                region=region, story=story, deadline=deadline,
                                beneficiary=beneficiary)
    session.add(NeedPostKey(key=key, need_id=need.id))
    session.flush()
    record(session, "need.post", f"need:{need.code}", actor_id, item=item.strip())
    return need


def edit_need(session: Session, need: Need, actor_id: int | None, *, title: str, story: str,
              amount: Money, beneficiary: Beneficiary | None) -> Need:
    """Change a need's text, amount or beneficiary. A verified need whose story, amount or
    beneficiary changes goes back to `submitted` and off the public lists."""
    if need.state not in EDITABLE_STATES:
        raise UserError("需求已获资助或已结束，不能再修改")
    require_positive(amount)
    if amount < need.funded:
        raise UserError("金额不能低于已筹得的 %(funded)s", funded=Money.fen(need.funded))
    if not title.strip():
        raise UserError("标题不能为空")
    if need.budget and int(amount) != need.amount:
        # Budget lines add up to the amount (needs/post_kinds.py): they would stop agreeing.
        raise UserError("项目有预算明细，目标金额须与预算合计 %(total)s 一致",
                        total=Money.fen(need.amount))
    new = {"title": title.strip(), "story": story, "amount": int(amount),
           "beneficiary_id": beneficiary.id if beneficiary else need.beneficiary_id}
    changed = [name for name, value in new.items() if getattr(need, name) != value]
    if not changed:
        return need
    for name in changed:
        setattr(need, name, new[name])
    session.add(need)
    session.flush()
    record(session, "need.edit", f"need:{need.code}", actor_id, fields=changed)
    if need.state == "verified" and set(changed) & set(REVERIFY_FIELDS):
        services.move(session, need, "submitted", actor_id, reason="edited")
        need.verified_at = need.verified_by = None
        need.submitted_at = now()
        session.flush()
        if need.beneficiary_id:
            duplicate_check.check_beneficiary(session, need.beneficiary_id)
    return need


def submit_need(session: Session, need: Need, actor_id: int | None) -> Need:
    """Draft → submitted: into the verifiers' queue, its beneficiary checked for duplicates."""
    if need.state == "submitted":
        return need  # a second click of the same button
    if need.kind in ("wish", "sponsorship") and need.beneficiary_id is None:
        raise UserError("微心愿和助学需求必须有受益人")
    services.submit(session, need, actor_id)
    need.submitted_at = now()
    session.add(need)
    session.flush()
    if need.beneficiary_id:
        duplicate_check.check_beneficiary(session, need.beneficiary_id)
    return need


def needs_of(session: Session, organisation_id: int) -> list[Need]:
    return list(session.exec(select(Need).where(Need.organisation_id == organisation_id)
                             .order_by(Need.id.desc())))
