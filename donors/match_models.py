"""配捐 match offers: an enterprise adds a share to every confirmed eligible public gift.

The caps live in the database: `used <= total_cap` on the offer and `used <= cap` per need
(CHECK constraints), raised only by conditional UPDATEs on locked rows, so concurrent gifts
stop exactly at the cap."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Column
from sqlmodel import Field, SQLModel

from core.clock import now
from core.money import Money
from core.money_column import MoneyType

OFFER_STATES = ("pending", "approved", "rejected", "closed")


class MatchOffer(SQLModel, table=True):
    __tablename__ = "match_offer"
    __table_args__ = (
        CheckConstraint("ratio_pct > 0 AND ratio_pct <= 1000", name="match_offer_ratio"),
        CheckConstraint("total_cap > 0", name="match_offer_total_cap"),
        CheckConstraint("used >= 0 AND used <= total_cap", name="match_offer_within_cap"),
        CheckConstraint("per_gift_cap IS NULL OR per_gift_cap > 0", name="match_offer_gift_cap"),
        CheckConstraint("per_need_cap IS NULL OR per_need_cap > 0", name="match_offer_need_cap"),
        CheckConstraint("ends_at > starts_at", name="match_offer_window"),
        CheckConstraint("status IN ('pending','approved','rejected','closed')",
                        name="match_offer_status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    code: str | None = Field(default=None, max_length=20, unique=True)
    enterprise_id: int = Field(foreign_key="enterprise.id", index=True)
    title: str = Field(max_length=200)
    ratio_pct: int  # 100 = 1:1, 50 = 1:0.5
    per_gift_cap: Money | None = Field(default=None, sa_type=MoneyType)
    per_need_cap: Money | None = Field(default=None, sa_type=MoneyType)
    total_cap: Money = Field(sa_type=MoneyType)
    used: Money = Field(default=0, sa_type=MoneyType)
    starts_at: datetime
    ends_at: datetime
    programme_ids: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    categories: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    regions: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", max_length=20)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    approved_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=now)


class MatchOfferNeed(SQLModel, table=True):
    """What one offer has given one need, against its per-need cap."""

    __tablename__ = "match_offer_need"
    __table_args__ = (CheckConstraint("used >= 0 AND used <= cap", name="match_need_within_cap"),)
    offer_id: int = Field(foreign_key="match_offer.id", primary_key=True)
    need_id: int = Field(foreign_key="need.id", primary_key=True)
    cap: Money = Field(sa_type=MoneyType)
    used: Money = Field(default=0, sa_type=MoneyType)


class MatchShare(SQLModel, table=True):
    """One gift's match: at most one per gift and offer."""

    __tablename__ = "match_share"
    id: int | None = Field(default=None, primary_key=True)
    offer_id: int = Field(foreign_key="match_offer.id", index=True)
    donation_id: int = Field(foreign_key="donation.id", index=True)
    need_id: int = Field(foreign_key="need.id", index=True)
    amount: Money = Field(sa_type=MoneyType)
    ledger_seq: int = Field(foreign_key="ledger_txn.seq")
    created_at: datetime = Field(default_factory=now)
