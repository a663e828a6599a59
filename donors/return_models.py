"""A gift whose need closed (expired, cancelled, rejected) with the donor's money still on it.

One `GiftReturn` per such donation: the donor decides by `decide_by` (30 days) between a
redirect to another open need or a fund and a refund; after that the published default
applies (the programme's general fund). Every move of money is a ledger transfer or
reversal; this row only records the decision and which transaction carried it out."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel

from core.clock import now
from core.money import Money
from core.money_column import MoneyType

# open: waiting for the donor · awaiting_refund: a bank transfer the staff must send back ·
# redirected / refunded / defaulted: done (the ledger transaction is `ledger_seq`).
RETURN_STATES = ("open", "awaiting_refund", "redirected", "refunded", "defaulted")
RETURN_CHOICES = ("", "need", "fund", "refund", "default")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({','.join(repr(v) for v in values)})"


class GiftReturn(SQLModel, table=True):
    __tablename__ = "gift_return"
    __table_args__ = (
        CheckConstraint(_in("status", RETURN_STATES), name="gift_return_status"),
        CheckConstraint(_in("choice", RETURN_CHOICES), name="gift_return_choice"),
        CheckConstraint("amount > 0", name="gift_return_amount_positive"),
        CheckConstraint("status IN ('open','awaiting_refund') OR ledger_seq IS NOT NULL",
                        name="gift_return_done_has_txn"),
    )
    id: int | None = Field(default=None, primary_key=True)
    donation_id: int = Field(foreign_key="donation.id", unique=True)
    need_id: int = Field(foreign_key="need.id", index=True)
    amount: Money = Field(sa_type=MoneyType)  # fen still on the closed need
    cause: str = Field(max_length=20)  # the need's new state: expired / cancelled / rejected
    status: str = Field(default="open", max_length=20, index=True)
    decide_by: datetime
    choice: str = Field(default="", max_length=20)
    target_need_id: int | None = Field(default=None, foreign_key="need.id")
    target_fund_id: int | None = Field(default=None, foreign_key="communityfund.id")
    decided_at: datetime | None = None
    decided_by: int | None = Field(default=None, foreign_key="user.id")
    refund_ref: str = Field(default="", max_length=120)  # Stripe's refund id, or the bank's
    ledger_seq: int | None = Field(default=None, foreign_key="ledger_txn.seq")
    created_at: datetime = Field(default_factory=now)
