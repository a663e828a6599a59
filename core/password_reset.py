"""Password reset by a mailed, signed, expiring link (core.tokens). The link is built from
the configured SITE_URL, never from the request's Host header: a forged Host would
otherwise receive the victim's token. Asking for a reset answers the same whether or not
the address is registered, so the form does not reveal who has an account."""
from __future__ import annotations

from sqlmodel import Session, select

from core import tokens
from core.accounts import set_password
from core.audit import record
from core.messages import N_, translate
from core.notify import mail_later
from core.users import User

SUBJECT = N_("善联：重设密码")
BODY = N_("您好，%(name)s：\n\n请在一小时内打开下面的链接重设密码：\n%(link)s\n\n"
          "如果您没有申请重设密码，请忽略这封邮件。")


def request_reset(session: Session, email: str, *, secret_key: str, site_url: str) -> None:
    email = (email or "").strip().lower()
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None or not user.active:
        return
    token = tokens.make_reset_token(secret_key, user.id, user.password_hash)
    link = f"{site_url.rstrip('/')}/account/reset/{token}"
    mail_later(session, user.email, translate(SUBJECT, user.locale),
               translate(BODY, user.locale, name=user.name, link=link))
    record(session, "user.reset_requested", f"user:{user.id}")


def user_for_token(session: Session, token: str, *, secret_key: str) -> User:
    """The user a reset link is for; TokenError when it is forged, expired or used."""
    def password_hash_of(user_id: int) -> str | None:
        user = session.get(User, user_id)
        return user.password_hash if user is not None and user.active else None

    return session.get(User, tokens.reset_token_user(secret_key, token, password_hash_of))


def reset_password(session: Session, token: str, password: str, *, secret_key: str) -> User:
    """Set a new password through a reset link. The link then stops working: it carries a
    fingerprint of the password it was made for."""
    user = user_for_token(session, token, secret_key=secret_key)
    set_password(session, user, password)
    return user
