"""Community funds, allocations, approvals, disbursements, match runs, and the ledger."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Index,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from core.clock import now
from core.money import Money
from core.money_column import MoneyType

ALLOCATION_STATES = ("proposed", "approved", "rejected", "executed", "reversed")


class CommunityFund(SQLModel, table=True):
    """社区基金. `balance` mirrors the ledger account fund:<code>; the CHECK keeps it >= 0
    even when two grants race."""

    __table_args__ = (
        CheckConstraint("balance >= 0", name="fund_balance_nonneg"),
        CheckConstraint("per_grant_cap IS NULL OR per_grant_cap > 0", name="fund_grant_cap"),
        CheckConstraint("second_approval_over IS NULL OR second_approval_over > 0",
                        name="fund_second_approval"),
        # At most one general fund per programme (migration 0034).
        Index("ux_communityfund_programme_general", "programme_id", unique=True,
              postgresql_where=text("programme_general"), sqlite_where=text("programme_general")),
    )
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=20, unique=True)
    name: str = Field(max_length=120)
    region: str = Field(max_length=200, index=True)
    programme_id: int | None = Field(default=None, foreign_key="programme.id")
    organisation_id: int | None = Field(default=None, foreign_key="organisation.id")
    balance: Money = Field(default=0, sa_type=MoneyType)
    per_grant_cap: Money | None = Field(default=None, sa_type=MoneyType)
    second_approval_over: Money | None = Field(default=None, sa_type=MoneyType)
    need_kinds: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=now)
    # Four-eyes on every grant whatever its amount (安心纾困), not only above the threshold.
    always_four_eyes: bool = False
    # Small urgent grants up to this amount are paid at once and reviewed afterwards.
    fast_path_limit: Money | None = Field(default=None, sa_type=MoneyType)
    # A programme's general fund (项目总基金): where gifts "to the programme" go (0034).
    programme_general: bool = Field(default=False, sa_column_kwargs={"server_default": false()})


class MatchRun(SQLModel, table=True):
    __tablename__ = "match_run"
    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(default_factory=now)
    finished_at: datetime | None = None
    status: str = Field(default="running", max_length=20)
    objective: str = Field(default="", max_length=40)  # decimal text; scores, not money
    upper_bound: str = Field(default="", max_length=40)
    stats: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


TRANSFER_STATES = ("proposed", "approved", "executed", "declined", "reversed")


class Allocation(SQLModel, table=True):
    """The one record of every transfer of money into a need, whatever its source: a
    donation, an enterprise pledge or a community fund (exactly one of the three).

    state: proposed → approved → executed, or declined (reversed: undone by a reversing
    ledger transaction). Approvals point here; `ledger_seq` is the transaction that moved
    the money once executed. (The table keeps its historical name, `allocation`.)"""

    __table_args__ = (
        CheckConstraint("amount > 0", name="allocation_amount_positive"),
        CheckConstraint(
            "(CASE WHEN pledge_id IS NULL THEN 0 ELSE 1 END + CASE WHEN fund_id IS NULL THEN 0 "
            "ELSE 1 END + CASE WHEN donation_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="allocation_one_source"),
        CheckConstraint("status IN (" + ",".join(f"'{s}'" for s in TRANSFER_STATES) + ")",
                        name="allocation_status"),
        CheckConstraint("status <> 'executed' OR ledger_seq IS NOT NULL",
                        name="allocation_executed_has_txn"),
    )
    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="need.id", index=True)
    pledge_id: int | None = Field(default=None, foreign_key="pledge.id", index=True)
    fund_id: int | None = Field(default=None, foreign_key="communityfund.id", index=True)
    donation_id: int | None = Field(default=None, foreign_key="donation.id", unique=True)
    amount: Money = Field(sa_type=MoneyType)
    status: str = Field(default="proposed", max_length=20)  # one of TRANSFER_STATES
    match_run_id: int | None = Field(default=None, foreign_key="match_run.id")
    ledger_seq: int | None = Field(default=None, foreign_key="ledger_txn.seq")
    reason: str = Field(default="", max_length=300)
    created_at: datetime = Field(default_factory=now)
    # Who asked for it (a grant request's author); they may not approve it themselves.
    requested_by: int | None = Field(default=None, foreign_key="user.id")
    # The engine's "why" for a proposal, and when an unanswered proposal lapses.
    why: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    expires_at: datetime | None = None
    # Fast path: paid at once, reviewed by a manager before review_due.
    review_due: datetime | None = None
    reviewed_at: datetime | None = None
    reviewed_by: int | None = Field(default=None, foreign_key="user.id")


Transfer = Allocation  # the name the write side uses


class Approval(SQLModel, table=True):
    """One fund manager's decision on a proposed grant; large grants need two."""

    __table_args__ = (
        CheckConstraint("decision IN ('approve','reject')", name="approval_decision"),
        UniqueConstraint("allocation_id", "approver_id", name="approval_once_per_approver"),
    )
    id: int | None = Field(default=None, primary_key=True)
    allocation_id: int = Field(foreign_key="allocation.id", index=True)
    approver_id: int = Field(foreign_key="user.id")
    decision: str = Field(max_length=10)
    reason: str = Field(default="", max_length=300)
    at: datetime = Field(default_factory=now)


class Disbursement(SQLModel, table=True):
    __table_args__ = (CheckConstraint("amount > 0", name="disbursement_amount_positive"),
                      Index("ux_disbursement_form_key", "form_key", unique=True))
    id: int | None = Field(default=None, primary_key=True)
    need_id: int = Field(foreign_key="need.id", index=True)
    milestone_id: int | None = Field(default=None, foreign_key="milestone.id")
    amount: Money = Field(sa_type=MoneyType)
    paid_to: str = Field(max_length=200)  # the organisation or supplier, never a child
    memo: str = Field(default="", max_length=300)
    at: datetime = Field(default_factory=now)
    ledger_seq: int | None = Field(default=None, foreign_key="ledger_txn.seq")
    # the recording form's one-time key: the same form sent twice is one payout (0035)
    form_key: str | None = Field(default=None, max_length=64)


class LedgerTxn(SQLModel, table=True):
    """One ledger transaction. Append-only; `prev` is unique so the chain cannot fork."""

    __tablename__ = "ledger_txn"
    __table_args__ = (
        CheckConstraint("seq >= 1", name="ledger_seq_positive"),
        UniqueConstraint("prev", name="ledger_prev_unique"),
        Index("ix_ledger_txn_kind_seq", "kind", "seq"),  # disclosure by kind (0003)
    )
    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime
    kind: str = Field(max_length=30, index=True)
    ref: str = Field(max_length=80, index=True)
    memo: str = Field(default="", max_length=300)
    prev: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class LedgerPosting(SQLModel, table=True):
    __tablename__ = "ledger_posting"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="posting_nonzero"),
        # Balances and per-account histories read only this index (0003).
        Index("ix_ledger_posting_account_seq", "account", "seq", "amount"),
    )
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(foreign_key="ledger_txn.seq", index=True)
    position: int
    account: str = Field(max_length=60, index=True)
    amount: Money = Field(sa_type=MoneyType)
