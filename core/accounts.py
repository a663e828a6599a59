"""Accounts: sign-up, password checks with a temporary lock after repeated failures, and
roles granted as memberships. Passwords are hashed with argon2id (argon2-cffi)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from core.audit import record
from core.clock import aware, now
from core.errors import UserError
from core.messages import N_ as _w
from core.users import ROLE_SCOPES, Membership, User

MIN_PASSWORD = 10
MAX_PASSWORD = 200
LOCK_AFTER = 5  # failed sign-ins in a row …
LOCK_FOR = timedelta(minutes=15)  # … lock the account this long
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")

_hasher = PasswordHasher()
# A hash of nothing, checked when the email is unknown, so both paths take the same time.
_DUMMY = _hasher.hash("not a password of anyone")


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in. A refusal is not raised as a UserError: the failure count
    it wrote must commit (a UserError rolls the request back)."""

    user: User | None
    refusal: str = ""  # a message id (Chinese source text), with `params`
    params: dict = field(default_factory=dict)


WRONG = _w("邮箱或密码不正确")
LOCKED = _w("登录失败次数过多，账户已暂时锁定，请 %(minutes)s 分钟后再试")


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not EMAIL.match(email):
        raise UserError("请输入有效的电子邮箱地址")
    return email


def check_password_rules(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise UserError("密码至少需要 %(n)s 个字符", n=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise UserError("密码不能超过 %(n)s 个字符", n=MAX_PASSWORD)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(session: Session, email: str, name: str, password: str,
                locale: str = "zh_CN") -> User:
    email = normalise_email(email)
    name = " ".join((name or "").split())
    if not 1 <= len(name) <= 100:
        raise UserError("请填写姓名（不超过 100 个字符）")
    check_password_rules(password)
    if session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise UserError("该邮箱已注册，请直接登录或找回密码")
    user = User(email=email, name=name, password_hash=hash_password(password),
                locale=locale if locale in ("zh_CN", "en") else "zh_CN")
    session.add(user)
    session.flush()
    record(session, "user.sign_up", f"user:{user.id}", actor_id=user.id)
    return user


def authenticate(session: Session, email: str, password: str) -> SignIn:
    """Who signs in with this email and password. After LOCK_AFTER failures in a row the
    account is locked for LOCK_FOR, right password or not. Unknown emails cost the same
    time as known ones and get the same answer."""
    email = (email or "").strip().lower()
    user = session.exec(select(User).where(User.email == email).with_for_update()).first() \
        if EMAIL.match(email) else None
    if user is None or not user.active:
        _verify(_DUMMY, password or "")
        return SignIn(None, WRONG)
    locked = aware(user.locked_until)
    if locked is not None and locked > now():
        minutes = max(1, int((locked - now()).total_seconds() // 60) + 1)
        return SignIn(None, LOCKED, {"minutes": minutes})
    if not _verify(user.password_hash, password or ""):
        user.failed_logins += 1
        if user.failed_logins >= LOCK_AFTER:
            user.locked_until = now() + LOCK_FOR
            user.failed_logins = 0
            record(session, "user.locked", f"user:{user.id}")
        session.add(user)
        return SignIn(None, WRONG)
    user.failed_logins, user.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.add(user)
    return SignIn(user)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(session: Session, user: User, password: str) -> None:
    check_password_rules(password)
    user.password_hash = hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    session.add(user)
    record(session, "user.password_set", f"user:{user.id}", actor_id=user.id)


def grant(session: Session, user: User, role: str, *, actor_id: int | None = None,
          organisation_id: int | None = None, enterprise_id: int | None = None,
          fund_id: int | None = None, region: str | None = None) -> Membership:
    """Give `user` a role with its scope (the database refuses a wrong or missing scope)."""
    if role not in ROLE_SCOPES:
        raise UserError("未知角色 %(role)s", role=role)
    scope = {"organisation_id": organisation_id, "enterprise_id": enterprise_id,
             "fund_id": fund_id, "region": region}
    wanted = ROLE_SCOPES[role]
    if any(v is not None for k, v in scope.items() if k != wanted) or (
            wanted is not None and scope[wanted] is None):
        raise UserError("角色 %(role)s 的范围不正确", role=role)
    existing = session.exec(select(Membership).where(
        Membership.user_id == user.id, Membership.role == role,
        *(getattr(Membership, k) == v for k, v in scope.items() if v is not None))).first()
    if existing is not None:
        return existing
    membership = Membership(user_id=user.id, role=role, **scope)
    session.add(membership)
    session.flush()
    record(session, "membership.grant", f"user:{user.id}", actor_id=actor_id, role=role,
           **{k: v for k, v in scope.items() if v is not None})
    return membership


def revoke(session: Session, membership_id: int, *, actor_id: int) -> Membership:
    """Remove one membership. An admin cannot remove their own admin role, so the platform
    never loses its last way in by a slip."""
    membership = session.get(Membership, membership_id)
    if membership is None:
        raise UserError("找不到这个角色")
    if membership.role == "admin" and membership.user_id == actor_id:
        raise UserError("不能撤销自己的管理员角色")
    session.delete(membership)
    session.flush()
    record(session, "membership.revoke", f"user:{membership.user_id}", actor_id=actor_id,
           role=membership.role, **{k: getattr(membership, k) for k in
                                    ("organisation_id", "enterprise_id", "fund_id", "region")
                                    if getattr(membership, k) is not None})
    return membership
