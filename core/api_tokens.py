"""API tokens of an organisation or an enterprise: made and revoked on the account page by
someone allowed `api_token.manage` there, shown once, stored only as a digest.

A token is `shl_` + 43 url-safe characters (256 random bits). The database keeps the
SHA-256 of it and an 8-character prefix to tell tokens apart on the account page. SHA-256,
not argon2: a slow hash protects low-entropy secrets such as passwords against guessing,
but a 256-bit random secret cannot be guessed at any speed, and a fast deterministic digest
can be looked up by an index on every API request (argon2 would cost ~50 ms of CPU per
request and need the token's id in the clear to find the row).

A token acts for its organisation or enterprise with the role its kind stands for
(TOKEN_ROLES), checked by core.policy like any member; and only while the person who made it
still may manage that organisation's tokens (leaving the organisation ends their tokens)."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, Column, String
from sqlmodel import Field, Session, SQLModel, select

from core.audit import record
from core.clock import aware, now
from core.errors import UserError
from core.policy import Principal, can, principal_for
from core.users import Membership, User

PREFIX = "shl_"
SCOPES = ("read", "write")
KINDS = ("organisation", "enterprise")
# The role a token of each kind acts with (core.policy decides what that role may do).
TOKEN_ROLES = {"organisation": "org_staff", "enterprise": "enterprise_reviewer"}
MAX_NAME = 60
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per token


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    __table_args__ = (
        CheckConstraint("scope IN ('read','write')", name="api_token_scope"),
        CheckConstraint("(organisation_id IS NULL) <> (enterprise_id IS NULL)",
                        name="api_token_one_owner"),
    )
    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    name: str = Field(max_length=MAX_NAME)
    scope: str = Field(max_length=10)
    prefix: str = Field(max_length=12)
    digest: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_by: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=now)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: int | None = Field(default=None, foreign_key="user.id")

    @property
    def kind(self) -> str:
        return "organisation" if self.organisation_id else "enterprise"

    @property
    def owner_id(self) -> int:
        return self.organisation_id or self.enterprise_id


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown once, never stored


class TokenRefused(Exception):
    """No usable token: missing, unknown, revoked, or its maker may no longer issue it."""


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "replace")).hexdigest()


def _owner_columns(kind: str, owner_id: int) -> dict:
    if kind not in KINDS:
        raise UserError("未知的令牌类型")
    return {"organisation_id": owner_id} if kind == "organisation" else {"enterprise_id": owner_id}


def create(session: Session, kind: str, owner_id: int, *, name: str, scope: str,
           actor_id: int) -> NewToken:
    """A new token for the organisation or enterprise; the caller checked the actor's right."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise UserError("请填写令牌名称（最多 %(n)s 字）", n=MAX_NAME)
    if scope not in SCOPES:
        raise UserError("权限范围应为只读或读写")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(**_owner_columns(kind, owner_id), name=name, scope=scope,
                     prefix=secret[:len(PREFIX) + 4], digest=digest_of(secret),
                     created_by=actor_id)
    session.add(token)
    session.flush()
    record(session, "api_token.create", f"{kind}:{owner_id}", actor_id, token=token.id,
           scope=scope)
    return NewToken(token, secret)


def tokens_of(session: Session, kind: str, owner_id: int) -> list[ApiToken]:
    column = ApiToken.organisation_id if kind == "organisation" else ApiToken.enterprise_id
    return list(session.exec(select(ApiToken).where(column == owner_id)
                             .order_by(ApiToken.id.desc())))


def revoke(session: Session, kind: str, owner_id: int, token_id: int, actor_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id) if isinstance(token_id, int) else None
    if token is None or token.kind != kind or token.owner_id != owner_id:
        raise UserError("找不到这个令牌")
    if token.revoked_at is None:  # revoking twice changes nothing
        token.revoked_at, token.revoked_by = now(), actor_id
        session.add(token)
        session.flush()
        record(session, "api_token.revoke", f"{kind}:{owner_id}", actor_id, token=token.id)
    return token


def find(session: Session, secret: str) -> ApiToken:
    """The live token for a presented secret, or TokenRefused."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        raise TokenRefused
    token = session.exec(select(ApiToken).where(ApiToken.digest == digest_of(secret))).first()
    if token is None or token.revoked_at is not None:
        raise TokenRefused
    maker = session.get(User, token.created_by)
    if maker is None or not maker.active \
            or not can(principal_for(session, maker), "api_token.manage", token):
        raise TokenRefused
    return token


def principal_of(token: ApiToken) -> Principal:
    """Who the token acts as: its maker's id (for the audit log) with one membership, the
    token kind's role in the token's organisation or enterprise."""
    role = TOKEN_ROLES[token.kind]
    member = Membership(user_id=token.created_by, role=role,
                        **_owner_columns(token.kind, token.owner_id))
    return Principal(user_id=token.created_by, memberships=(member,))


def touch(session: Session, token: ApiToken) -> None:
    """Record the use, at most once a minute (core.data_version ignores this write)."""
    moment = now()
    if token.last_used_at is None or moment - aware(token.last_used_at) >= TOUCH_EVERY:
        token.last_used_at = moment
        session.add(token)
