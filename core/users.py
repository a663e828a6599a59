"""People who sign in, and what they may do (one membership per role they hold)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import now

ROLES = ("donor", "enterprise", "charity", "verifier", "fund_manager", "admin")


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=200, unique=True, index=True)
    name: str = Field(max_length=100)
    password_hash: str = Field(default="", max_length=300)
    locale: str = Field(default="zh_CN", max_length=10)
    active: bool = True
    created_at: datetime = Field(default_factory=now)


class Membership(SQLModel, table=True):
    """A user's role, optionally scoped to one organisation, enterprise or fund."""

    __table_args__ = (
        CheckConstraint(
            "role IN ('donor','enterprise','charity','verifier','fund_manager','admin')",
            name="membership_role_known",
        ),
        UniqueConstraint("user_id", "role", "organisation_id", "enterprise_id", "fund_id",
                         name="membership_unique"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    role: str = Field(max_length=20)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id")
    fund_id: int | None = Field(default=None, foreign_key="communityfund.id")
    created_at: datetime = Field(default_factory=now)
