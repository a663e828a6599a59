"""The payment side of a gift: how a pending donation is being paid and who to tell.

A `GiftPayment` row belongs to one donation. It keeps the provider (bank transfer or
Stripe), the reference the payer quotes (unique, so a statement line can find exactly one
gift), the payer's name and contact as given (never shown publicly), and who confirmed the
money and when. The donation itself stays in `donors.models.Donation` (pending → paid)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Column, LargeBinary
from sqlmodel import Field, SQLModel

from core.clock import now

# "late": the money came after the hold lapsed and the wish went to someone else; it is
# never credited to the need, and is sent back ("refunded") or, if the donor chose that,
# given to the programme's general fund instead (then "confirmed", as a fund gift).
PAYMENT_STATES = ("awaiting", "confirmed", "expired", "late", "refunded")
IF_TAKEN = ("refund", "redirect")  # what the donor asked for, should their money come late


class GiftPayment(SQLModel, table=True):
    __tablename__ = "gift_payment"
    __table_args__ = (
        CheckConstraint("status IN ('awaiting','confirmed','expired','late','refunded')",
                        name="gift_payment_status"),
        CheckConstraint("if_taken IN ('refund','redirect')", name="gift_payment_if_taken"),
        CheckConstraint("provider IN ('bank_transfer','stripe')", name="gift_payment_provider"),
    )
    id: int | None = Field(default=None, primary_key=True)
    donation_id: int = Field(foreign_key="donation.id", unique=True)
    provider: str = Field(max_length=20)
    reference: str = Field(max_length=120, unique=True)  # SL-XXXX-XXXX or a Checkout Session id
    payer_name: str = Field(max_length=60)
    contact: str = Field(default="", max_length=120)  # email or mobile; private
    status: str = Field(default="awaiting", max_length=20, index=True)
    hold_until: datetime | None = None
    confirmed_at: datetime | None = None
    confirmed_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=now)
    # The provider's payment (Stripe's PaymentIntent id), from the event that confirmed it:
    # what a refund names.
    provider_payment_ref: str | None = Field(default=None, max_length=120)
    if_taken: str = Field(default="refund", max_length=10)
    # A late payment sent back: Stripe's refund id, or the bank's reference staff recorded.
    refund_ref: str | None = Field(default=None, max_length=120)
    refunded_at: datetime | None = None


class GiftReceipt(SQLModel, table=True):
    """A confirmed gift's 捐赠收据, rendered once (by a job, after the commit) and kept, so
    a later download is the very document first issued."""

    __tablename__ = "gift_receipt"
    id: int | None = Field(default=None, primary_key=True)
    donation_id: int = Field(foreign_key="donation.id", unique=True)
    number: str = Field(max_length=30, unique=True)  # SL-2026-000481
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=now)


class PaymentEventRecord(SQLModel, table=True):
    """Every authentic provider event, by its id: UNIQUE, so each is acted on at most once
    however often the provider delivers it."""

    __tablename__ = "payment_event"
    id: int | None = Field(default=None, primary_key=True)
    provider: str = Field(max_length=20)
    event_id: str = Field(max_length=120, unique=True)
    source_type: str = Field(max_length=80)
    gift_id: int | None = None
    outcome: str = Field(default="", max_length=40)
    received_at: datetime = Field(default_factory=now)


class GiftConfirmation(SQLModel, table=True):
    """A payment whose money has arrived, queued to be applied (donors.gift_batches): the
    cheap, durable intent a confirmation commits first. An applier applies queued rows in
    batches, in `id` order, and writes the `outcome` ("confirmed", "late", "redirected", or
    "skipped" when the payment was no longer open). UNIQUE per payment: a webhook delivered
    twice or a double click queues one confirmation, applied once."""

    __tablename__ = "gift_confirmation"
    id: int | None = Field(default=None, primary_key=True)
    payment_id: int = Field(foreign_key="gift_payment.id", unique=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    queued_at: datetime = Field(default_factory=now)
    applied_at: datetime | None = None
    outcome: str | None = Field(default=None, max_length=20, index=True)
