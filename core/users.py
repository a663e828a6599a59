"""People who sign in, and what they may do (one membership per role they hold)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, text
from sqlmodel import Field, SQLModel

from core.clock import now

# The roles of the accounts issue, each with the one scope it must have (and no other):
# which organisation, enterprise or fund, or which region for a verifier (a 市 or a 县).
ROLE_SCOPES = {
    "donor": None,
    "enterprise_staff": "enterprise_id",
    "enterprise_reviewer": "enterprise_id",
    "org_staff": "organisation_id",
    "org_admin": "organisation_id",
    "verifier": "region",
    "fund_manager": "fund_id",
    "admin": None,
}
ROLES = tuple(ROLE_SCOPES)
SCOPE_COLUMNS = ("organisation_id", "enterprise_id", "fund_id", "region")


def _scope_check(role: str, scope: str | None) -> str:
    """SQL: this role's row has exactly its own scope column set."""
    parts = [f"{column} IS NOT NULL" if column == scope else f"{column} IS NULL"
             for column in SCOPE_COLUMNS]
    return f"role <> '{role}' OR ({' AND '.join(parts)})"


def _unique_per_scope(name: str, scope: str | None) -> Index:
    """UNIQUE over (user, role, scope) for the rows of one scope kind. A plain UNIQUE over
    nullable columns accepts two identical rows whose scopes are NULL (NULL <> NULL), so
    each kind gets a partial index over the columns it actually uses."""
    columns = ["user_id", "role"] + ([scope] if scope else [])
    if scope:
        where = text(f"{scope} IS NOT NULL")
    else:
        where = text(" AND ".join(f"{column} IS NULL" for column in SCOPE_COLUMNS))
    return Index(name, *columns, unique=True, sqlite_where=where, postgresql_where=where)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=200, unique=True, index=True)
    name: str = Field(max_length=100)
    password_hash: str = Field(default="", max_length=300)
    locale: str = Field(default="zh_CN", max_length=10)
    active: bool = True
    created_at: datetime = Field(default_factory=now)
    failed_logins: int = 0  # failed sign-ins in a row (core.accounts locks after a few)
    locked_until: datetime | None = None

    # Flask-Login's user protocol (web.security loads users by id).
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return str(self.id)


class Membership(SQLModel, table=True):
    """A user's role with its scope: one organisation, enterprise or fund, a region (for a
    verifier), or nothing (donor, admin). The database refuses a role without its scope, a
    scope the role does not take, and duplicate rows."""

    __table_args__ = (
        CheckConstraint("role IN (" + ",".join(f"'{role}'" for role in ROLES) + ")",
                        name="membership_role_known"),
        *(CheckConstraint(_scope_check(role, scope), name=f"membership_scope_{role}")
          for role, scope in ROLE_SCOPES.items()),
        _unique_per_scope("uq_membership_unscoped", None),
        _unique_per_scope("uq_membership_organisation", "organisation_id"),
        _unique_per_scope("uq_membership_enterprise", "enterprise_id"),
        _unique_per_scope("uq_membership_fund", "fund_id"),
        _unique_per_scope("uq_membership_region", "region"),
    )
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    role: str = Field(max_length=20)
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id")
    fund_id: int | None = Field(default=None, foreign_key="communityfund.id")
    region: str | None = Field(default=None, max_length=200)  # a verifier's 市 or 县 path
    created_at: datetime = Field(default_factory=now)
