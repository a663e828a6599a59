"""Staff invitations by mail: an org admin invites org_staff, an enterprise reviewer
invites enterprise_staff. The signed link (core.tokens, one week) names the organisation
or enterprise, the address and the role; accepting it creates the account for that
address (or links the existing one, whose mailbox the link proves) and grants the role.
Accepting twice grants once (core.accounts.grant is idempotent)."""
from __future__ import annotations

from sqlmodel import Session, select

from core import accounts, tokens
from core.audit import record
from core.errors import UserError
from core.messages import N_, translate
from core.notify import mail_later
from core.users import User
from donors.models import Enterprise
from needs.models import Organisation

STAFF_ROLE = {"organisation": "org_staff", "enterprise": "enterprise_staff"}
KIND_OF_ROLE = {role: kind for kind, role in STAFF_ROLE.items()}

SUBJECT = N_("善联：%(org)s 邀请您加入")
BODY = N_("您好：\n\n%(inviter)s 邀请您以工作人员身份加入“%(org)s”。请在七天内打开下面的链接接受邀请：\n"
          "%(link)s\n\n如果您不认识对方，请忽略这封邮件。")


def _target(session: Session, kind: str, target_id: int):
    model = Organisation if kind == "organisation" else Enterprise
    target = session.get(model, target_id)
    if target is None or target.status != "approved":
        raise UserError("该机构尚未通过审核，不能邀请工作人员")
    return target


def invite(session: Session, inviter: User, kind: str, target_id: int, email: str, *,
           secret_key: str, site_url: str, locale: str = "zh_CN") -> str:
    """Mail an invitation; returns the token (the link's last part)."""
    email = accounts.normalise_email(email)
    target = _target(session, kind, target_id)
    token = tokens.make_invitation_token(secret_key, target.id, email, STAFF_ROLE[kind])
    link = f"{site_url.rstrip('/')}/account/invitation/{token}"
    mail_later(session, email, translate(SUBJECT, locale, org=target.name),
               translate(BODY, locale, inviter=inviter.name, org=target.name, link=link))
    record(session, "invitation.send", f"{kind}:{target.id}", actor_id=inviter.id,
           role=STAFF_ROLE[kind])
    return token


def read(session: Session, token: str, *, secret_key: str):
    """(kind, organisation/enterprise, email, role, existing user or None) of a valid link."""
    target_id, email, role = tokens.invitation(secret_key, token)
    if role not in KIND_OF_ROLE:
        raise tokens.TokenError(tokens.TOKEN_INVALID)
    kind = KIND_OF_ROLE[role]
    target = _target(session, kind, target_id)
    user = session.exec(select(User).where(User.email == email)).first()
    return kind, target, email, role, user


def accept(session: Session, token: str, *, secret_key: str, name: str | None = None,
           password: str | None = None, locale: str = "zh_CN") -> User:
    """Grant the invited role; a new address gets an account with `name` and `password`."""
    kind, target, email, role, user = read(session, token, secret_key=secret_key)
    if user is None:
        user = accounts.create_user(session, email, name or "", password or "", locale=locale)
    elif not user.active:
        raise UserError("该账户已停用")
    accounts.grant(session, user, role, actor_id=user.id, **{f"{kind}_id": target.id})
    record(session, "invitation.accept", f"{kind}:{target.id}", actor_id=user.id, role=role)
    return user
