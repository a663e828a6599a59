"""Donors, donor enterprises, their pledges and donations."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import now
from core.ids import opaque_id
from core.money import Money
from core.money_column import MoneyType

DONATION_STATES = ("pending", "paid", "failed", "refunded")


class Donor(SQLModel, table=True):
    """An individual donor. The ledger knows them only by `public_id`."""

    id: int | None = Field(default=None, primary_key=True)
    public_id: str = Field(default_factory=opaque_id, max_length=20, unique=True)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    name: str = Field(max_length=60)
    show_name: bool = False  # masked as 张** unless they chose to be named
    created_at: datetime = Field(default_factory=now)


class Enterprise(SQLModel, table=True):
    __table_args__ = (
        CheckConstraint("status IN ('pending','approved','rejected')", name="enterprise_status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=120, unique=True)
    region: str = Field(max_length=200)
    status: str = Field(default="pending", max_length=20)
    created_at: datetime = Field(default_factory=now)


class Pledge(SQLModel, table=True):
    """An enterprise's budget with preferences. 配捐: at most match_ratio_pct% of what the
    public has already given a need."""

    __table_args__ = (
        CheckConstraint("budget > 0", name="pledge_budget_positive"),
        CheckConstraint("paid_in >= 0 AND paid_in <= budget", name="pledge_paid_le_budget"),
        CheckConstraint("allocated >= 0 AND allocated <= paid_in", name="pledge_no_overspend"),
        CheckConstraint("per_grant_cap IS NULL OR per_grant_cap > 0", name="pledge_grant_cap"),
        CheckConstraint("per_beneficiary_cap IS NULL OR per_beneficiary_cap > 0",
                        name="pledge_beneficiary_cap"),
        CheckConstraint("match_ratio_pct IS NULL OR match_ratio_pct > 0", name="pledge_ratio"),
        CheckConstraint("status IN ('active','paused','closed')", name="pledge_status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    code: str | None = Field(default=None, max_length=20, unique=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    programme_id: int | None = Field(default=None, foreign_key="programme.id")
    title: str = Field(default="", max_length=200)
    budget: Money = Field(sa_type=MoneyType)
    paid_in: Money = Field(default=0, sa_type=MoneyType)
    allocated: Money = Field(default=0, sa_type=MoneyType)
    categories: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    regions: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    need_kinds: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    per_grant_cap: Money | None = Field(default=None, sa_type=MoneyType)
    per_beneficiary_cap: Money | None = Field(default=None, sa_type=MoneyType)
    match_ratio_pct: int | None = None
    status: str = Field(default="active", max_length=20)
    created_at: datetime = Field(default_factory=now)
    period_start: date | None = None
    period_end: date | None = None


class PledgeTranche(SQLModel, table=True):
    """One instalment of a multi-year pledge (一米阳光's "¥X over 3 years"). The tranches
    add up to the budget; `paid_at` is set when an admin confirms the money arrived."""

    __tablename__ = "pledge_tranche"
    __table_args__ = (
        CheckConstraint("amount > 0", name="tranche_amount_positive"),
        UniqueConstraint("pledge_id", "seq", name="tranche_seq_once"),
        Index("ux_pledge_tranche_reference", "reference", unique=True),
    )
    id: int | None = Field(default=None, primary_key=True)
    pledge_id: int = Field(foreign_key="pledge.id", index=True)
    seq: int
    due: date
    amount: Money = Field(sa_type=MoneyType)
    paid_at: datetime | None = None
    ledger_seq: int | None = Field(default=None, foreign_key="ledger_txn.seq")
    # The bank-transfer reference the enterprise quotes (donors.tranche_payments), once asked.
    reference: str | None = Field(default=None, max_length=120)


class Donation(SQLModel, table=True):
    """Money from an individual or an enterprise to one need or one community fund."""

    __table_args__ = (
        CheckConstraint("amount > 0", name="donation_amount_positive"),
        CheckConstraint("(need_id IS NULL) <> (fund_id IS NULL)", name="donation_one_target"),
        CheckConstraint("(donor_id IS NULL) <> (enterprise_id IS NULL)", name="donation_one_giver"),
        CheckConstraint("status IN ('pending','paid','failed','refunded')", name="donation_status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    donor_id: int | None = Field(default=None, foreign_key="donor.id", index=True)
    enterprise_id: int | None = Field(default=None, foreign_key="enterprise.id", index=True)
    need_id: int | None = Field(default=None, foreign_key="need.id", index=True)
    fund_id: int | None = Field(default=None, foreign_key="communityfund.id", index=True)
    amount: Money = Field(sa_type=MoneyType)
    status: str = Field(default="pending", max_length=20)
    payment_ref: str | None = Field(default=None, max_length=120, unique=True)
    ledger_seq: int | None = Field(default=None, foreign_key="ledger_txn.seq")
    created_at: datetime = Field(default_factory=now)
