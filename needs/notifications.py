"""Mail to an organisation's staff about their needs (sent by jobs, after the commit)."""
from __future__ import annotations

from sqlmodel import Session, select

from core import mail
from core.messages import N_, translate
from core.users import Membership, User
from needs.models import Need

SUBJECTS = {
    "verify": N_("需求 %(code)s 已通过审核"),
    "reject": N_("需求 %(code)s 未通过审核"),
    "send_back": N_("需求 %(code)s 被退回修改"),
}


def staff_addresses(session: Session, organisation_id: int) -> list[tuple[str, str]]:
    rows = session.exec(select(User.email, User.locale).join(Membership,
                                                             Membership.user_id == User.id)
                        .where(Membership.organisation_id == organisation_id,
                               Membership.role.in_(("org_staff", "org_admin")),
                               User.active.is_(True))).all()
    return sorted(set(rows))


def verification_mail(session: Session, need_id: int, decision: str, reason: str) -> int:
    need = session.get(Need, need_id)
    if need is None or decision not in SUBJECTS:
        return 0
    sent = 0
    for email, locale in staff_addresses(session, need.organisation_id):
        subject = translate(SUBJECTS[decision], locale, code=need.code)
        lines = [subject, "", need.title]
        if reason:
            lines += ["", translate(N_("审核意见：%(reason)s"), locale, reason=reason)]
        mail.send(email, subject, "\n".join(lines))
        sent += 1
    return sent
