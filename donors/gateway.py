"""The one small interface every payment provider sits behind, and its plain data types.

The giving flow calls only this: create a payment for a gift, refund it (whole or in
part), and turn a provider's webhook into a `PaymentEvent`. Everything provider-specific —
Stripe's objects, a bank's account details — stays in `stripe_gateway.py` and
`bank_transfer.py`, so tests can swap a fake in and the flow never sees a Stripe object.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable

from core.errors import UserError
from core.money import Money


class GatewayError(UserError):
    """The provider refused or could not be reached; nothing was charged or refunded."""


class WebhookRejected(UserError):
    """A webhook that is not authentic, is stale or cannot be read: answer 400, write nothing."""


@dataclass(frozen=True)
class GiftPayment:
    """What the giving flow asks a gateway to collect."""

    gift_id: int
    amount: int  # fen, > 0
    description: str  # shown to the payer, e.g. "微心愿 W-12 一个新书包"
    success_url: str = ""  # where Checkout returns the donor (absolute, from settings)
    cancel_url: str = ""
    payer_email: str | None = None
    attempt: int = 1  # a new attempt after an expired session needs a new idempotency key
    expires_at: datetime | None = None  # when the hold lapses (Stripe: at least 30 minutes)


@dataclass(frozen=True)
class BankAccount:
    """The platform's receiving account (对公账户), from settings."""

    account_name: str  # 户名
    bank_name: str  # 开户行
    account_number: str  # 账号


@dataclass(frozen=True)
class PaymentStart:
    """Where to send the donor next: a hosted checkout page, or transfer instructions."""

    provider: str  # "stripe" | "bank_transfer"
    provider_ref: str  # Checkout Session id, or the transfer's reference code
    amount: int  # fen
    redirect_url: str | None = None
    account: BankAccount | None = None  # for a bank transfer: pay to this account …
    reference: str | None = None  # … quoting this code in 附言


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    MANUAL = "manual"  # a bank transfer: staff send the money back and record it


@dataclass(frozen=True)
class RefundResult:
    provider: str
    refund_ref: str | None  # the provider's refund id; None when staff refund by hand
    amount: int | None  # fen; None means "the whole remaining amount"
    status: RefundStatus


class EventKind(StrEnum):
    PAID = "paid"  # money confirmed: the only kind that may write a ledger transaction
    PENDING = "pending"  # the donor finished checkout, money not yet confirmed
    FAILED = "failed"
    EXPIRED = "expired"  # the checkout lapsed unpaid: release the hold
    REFUNDED = "refunded"  # `amount` is the total refunded so far on the payment
    REFUND_UPDATED = "refund_updated"  # one refund changed status
    IGNORED = "ignored"  # authentic but nothing to do; still recorded by id


@dataclass(frozen=True)
class PaymentEvent:
    """A provider's event in our terms. `event_id` is what makes handling at-most-once."""

    event_id: str
    provider: str
    kind: EventKind
    source_type: str  # the provider's own name, e.g. "checkout.session.completed"
    gift_id: int | None
    payment_ref: str | None  # e.g. Stripe's PaymentIntent id, shared by all of a gift's events
    amount: int | None  # fen (see EventKind for what it measures)
    currency: str | None
    occurred_at: datetime
    session_ref: str | None = None
    refund_ref: str | None = None
    refund_status: RefundStatus | None = None
    fully_refunded: bool = False


@runtime_checkable
class PaymentGateway(Protocol):
    name: str

    def create_payment(self, payment: GiftPayment) -> PaymentStart: ...

    def refund(self, payment_ref: str, amount: Money | None, *, gift_id: int,
               idempotency_key: str) -> RefundResult: ...

    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> PaymentEvent: ...


def check_payment(payment: GiftPayment) -> None:
    """What every gateway refuses before calling anyone: the flow's own mistakes."""
    amount = payment.amount
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 100:
        raise GatewayError("捐赠金额至少 ¥1.00")
    if isinstance(payment.gift_id, bool) or not isinstance(payment.gift_id, int) \
            or payment.gift_id <= 0:
        raise GatewayError("无效的捐赠编号")
    if not payment.description.strip():
        raise GatewayError("缺少捐赠用途")


def gateway_from_env(env: Mapping[str, str] | None = None) -> PaymentGateway:
    """Stripe Checkout when STRIPE_SECRET_KEY is set; otherwise bank transfer, the default."""
    env = os.environ if env is None else env
    if env.get("STRIPE_SECRET_KEY"):
        from donors.stripe_gateway import StripeGateway

        return StripeGateway.from_env(env)
    from donors.bank_transfer import BankTransferGateway

    return BankTransferGateway.from_env(env)
