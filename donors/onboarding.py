"""Onboarding: organisations and enterprises apply, an admin approves or rejects with a
reason (the applicant is told by mail; every step is in the audit log), and on approval
the applicant becomes the organisation's org_admin or the enterprise's
enterprise_reviewer."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core import accounts
from core.audit import record
from core.clock import now
from core.errors import UserError
from core.identifiers import validate_uscc
from core.messages import N_, translate
from core.notify import mail_later
from core.regions import Region
from core.users import User
from donors.applications import KINDS, OnboardingApplication
from donors.models import Enterprise
from needs.evidence import stored_path
from needs.fundraising import clean_certificate
from needs.models import Organisation
from needs.uploads import CheckedUpload, store_upload

ADMIN_ROLE = {"organisation": "org_admin", "enterprise": "enterprise_reviewer"}
MAX_REASON = 500

APPROVED_SUBJECT = N_("善联：入驻申请已通过")
APPROVED_BODY = N_("您好，%(name)s：\n\n“%(org)s”的入驻申请已通过。登录后即可在“我的账户”中管理。\n%(link)s")
REJECTED_SUBJECT = N_("善联：入驻申请未通过")
REJECTED_BODY = N_("您好，%(name)s：\n\n“%(org)s”的入驻申请未通过，原因：\n%(reason)s\n\n"
                   "如有疑问请联系平台管理员。")


def _clean(value: str | None, limit: int, empty_message: str) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise UserError(empty_message)
    if len(value) > limit:
        raise UserError("内容过长（不超过 %(n)s 个字符）", n=limit)
    return value


def apply(session: Session, applicant: User, *, kind: str, name: str, region: str,
          uscc: str, certificate: CheckedUpload, upload_dir: Path, contact_name: str,
          contact_phone: str, contact_email: str, public_fundraising: bool = False,
          public_fundraising_cert: str = "") -> OnboardingApplication:
    """One application, with its organisation or enterprise created as pending. An
    organisation states its 公募资格 (with the certificate number) here; the admin checks
    it against the papers before approving."""
    if kind not in KINDS:
        raise UserError("未知的申请类型")
    name = _clean(name, 120, "请填写名称")
    Region.parse(region)
    uscc = validate_uscc(uscc)
    contact_name = _clean(contact_name, 100, "请填写联系人")
    contact_phone = _clean(contact_phone, 30, "请填写联系电话")
    contact_email = accounts.normalise_email(contact_email)
    qualified = kind == "organisation" and bool(public_fundraising)
    certificate_number = clean_certificate(qualified, public_fundraising_cert)
    if session.exec(select(OnboardingApplication.id)
                    .where(OnboardingApplication.uscc == uscc)).first() is not None:
        raise UserError("该统一社会信用代码已提交过入驻申请")
    model = Organisation if kind == "organisation" else Enterprise
    if session.exec(select(model.id).where(model.name == name)).first() is not None:
        raise UserError("名称“%(name)s”已被使用", name=name)
    try:
        # A SAVEPOINT: a concurrent double submit loses on the unique name/USCC here and
        # gets the same message, not a 500.
        with session.begin_nested():
            if kind == "organisation":
                target = Organisation(name=name, region=region, status="pending", uscc=uscc,
                                      public_fundraising=qualified,
                                      public_fundraising_cert=certificate_number)
            else:
                target = Enterprise(code="", name=name, region=region, status="pending")
            session.add(target)
            session.flush()
            if kind == "enterprise":
                target.code = f"E-{target.id}"
            application = OnboardingApplication(
                kind=kind, applicant_id=applicant.id, name=name, uscc=uscc,
                certificate_sha256=certificate.sha256,
                certificate_type=certificate.content_type, contact_name=contact_name,
                contact_phone=contact_phone, contact_email=contact_email,
                **{f"{kind}_id": target.id})
            session.add(application)
            session.flush()
    except IntegrityError as exc:
        raise UserError("该统一社会信用代码已提交过入驻申请") from exc
    store_upload(upload_dir, certificate)
    record(session, "application.submit", f"{kind}:{target.id}", actor_id=applicant.id,
           application=application.id)
    return application


def certificate_path(upload_dir: Path, application: OnboardingApplication) -> Path:
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png",
                 "image/webp": "webp"}[application.certificate_type]
    return stored_path(upload_dir, application.certificate_sha256, extension)


def target_of(session: Session, application: OnboardingApplication):
    if application.kind == "organisation":
        return session.get(Organisation, application.organisation_id)
    return session.get(Enterprise, application.enterprise_id)


def _pending(session: Session, application_id: int) -> OnboardingApplication:
    application = session.exec(select(OnboardingApplication).where(
        OnboardingApplication.id == application_id).with_for_update()).first()
    if application is None:
        raise UserError("找不到这份申请")
    if application.status != "pending":
        raise UserError("这份申请已经处理过了")
    return application


def approve(session: Session, application_id: int, admin_id: int, *,
            site_url: str) -> OnboardingApplication:
    application = _pending(session, application_id)
    target = target_of(session, application)
    application.status, target.status = "approved", "approved"
    application.reviewed_by, application.reviewed_at = admin_id, now()
    session.add_all([application, target])
    applicant = session.get(User, application.applicant_id)
    accounts.grant(session, applicant, ADMIN_ROLE[application.kind], actor_id=admin_id,
                   **{f"{application.kind}_id": target.id})
    record(session, "application.approve", f"{application.kind}:{target.id}",
           actor_id=admin_id, application=application.id)
    mail_later(session, applicant.email, translate(APPROVED_SUBJECT, applicant.locale),
               translate(APPROVED_BODY, applicant.locale, name=applicant.name,
                         org=target.name, link=f"{site_url.rstrip('/')}/account/"))
    return application


def reject(session: Session, application_id: int, admin_id: int,
           reason: str) -> OnboardingApplication:
    reason = (reason or "").strip()
    if not reason:
        raise UserError("请填写不通过的原因")
    if len(reason) > MAX_REASON:
        raise UserError("内容过长（不超过 %(n)s 个字符）", n=MAX_REASON)
    application = _pending(session, application_id)
    target = target_of(session, application)
    application.status, target.status = "rejected", "rejected"
    application.reason = reason
    application.reviewed_by, application.reviewed_at = admin_id, now()
    session.add_all([application, target])
    applicant = session.get(User, application.applicant_id)
    record(session, "application.reject", f"{application.kind}:{target.id}",
           actor_id=admin_id, application=application.id, reason=reason)
    mail_later(session, applicant.email, translate(REJECTED_SUBJECT, applicant.locale),
               translate(REJECTED_BODY, applicant.locale, name=applicant.name,
                         org=target.name, reason=reason))
    return application


def applications(session: Session, status: str | None = "pending",
                 applicant_id: int | None = None) -> list[OnboardingApplication]:
    query = select(OnboardingApplication).order_by(OnboardingApplication.id)
    if status:
        query = query.where(OnboardingApplication.status == status)
    if applicant_id is not None:
        query = query.where(OnboardingApplication.applicant_id == applicant_id)
    return list(session.exec(query))
