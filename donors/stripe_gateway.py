"""Stripe Checkout behind the gateway interface: sessions in CNY, refunds, signed webhooks.

Only this module knows Stripe's shapes. Webhooks are verified with Stripe's own signature
check (HMAC-SHA256 over "timestamp.payload", 5-minute tolerance, so a replay of an old
delivery is refused) before the JSON is read, and every event comes out as a plain
`PaymentEvent` carrying the gift id we put in metadata.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import stripe

from core.clock import now
from core.money import Money
from donors.gateway import (
    EventKind,
    GatewayError,
    GiftPayment,
    PaymentEvent,
    PaymentStart,
    RefundResult,
    RefundStatus,
    WebhookRejected,
    check_payment,
)

SUPPORTED_METHODS = ("card", "alipay", "wechat_pay")
WEBHOOK_TOLERANCE_SECONDS = 300
# Stripe lets a Checkout Session live between 30 minutes and 24 hours.
_MIN_SESSION, _MAX_SESSION = timedelta(minutes=30), timedelta(hours=24)

_REFUND_STATUS = {"pending": RefundStatus.PENDING, "requires_action": RefundStatus.PENDING,
                  "succeeded": RefundStatus.SUCCEEDED, "failed": RefundStatus.FAILED,
                  "canceled": RefundStatus.CANCELED}


def payment_methods(setting: str | None) -> list[str]:
    """STRIPE_PAYMENT_METHODS, e.g. "card,alipay,wechat_pay"; card alone when unset."""
    methods = [m.strip().lower() for m in (setting or "card").split(",") if m.strip()]
    unknown = sorted(set(methods) - set(SUPPORTED_METHODS))
    if unknown or not methods:
        raise ValueError(f"STRIPE_PAYMENT_METHODS: unsupported {', '.join(unknown) or '(empty)'}; "
                         f"choose from {', '.join(SUPPORTED_METHODS)}")
    return list(dict.fromkeys(methods))


class StripeGateway:
    name = "stripe"

    def __init__(self, secret_key: str, webhook_secret: str | None, *,
                 methods: Sequence[str] = ("card",), api_base: str | None = None,
                 max_network_retries: int = 2):
        if not secret_key:
            raise ValueError("StripeGateway needs STRIPE_SECRET_KEY")
        self.methods = payment_methods(",".join(methods))
        self.webhook_secret = webhook_secret
        base = {"api": api_base.rstrip("/")} if api_base else None
        self.client = stripe.StripeClient(secret_key, base_addresses=base,
                                          max_network_retries=max_network_retries)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StripeGateway:
        env = os.environ if env is None else env
        return cls(env.get("STRIPE_SECRET_KEY", ""), env.get("STRIPE_WEBHOOK_SECRET") or None,
                   methods=payment_methods(env.get("STRIPE_PAYMENT_METHODS")),
                   api_base=env.get("STRIPE_API_BASE") or None)

    # -- payments -------------------------------------------------------------------------

    def create_payment(self, payment: GiftPayment) -> PaymentStart:
        check_payment(payment)
        if not (payment.success_url and payment.cancel_url):
            raise GatewayError("缺少支付返回地址")
        gift = str(payment.gift_id)
        params: dict = {
            "mode": "payment",
            "payment_method_types": self.methods,
            "line_items": [{"quantity": 1, "price_data": {
                "currency": "cny", "unit_amount": payment.amount,  # CNY's minor unit is the fen
                "product_data": {"name": payment.description[:250]}}}],
            "client_reference_id": gift,
            "metadata": {"gift_id": gift},
            # The PaymentIntent and its charges carry the gift too, for their own events.
            "payment_intent_data": {"metadata": {"gift_id": gift},
                                    "description": payment.description[:250]},
            "success_url": payment.success_url,
            "cancel_url": payment.cancel_url,
        }
        if "wechat_pay" in self.methods:
            params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
        if payment.payer_email:
            params["customer_email"] = payment.payer_email
        if payment.expires_at is not None:
            # A hold may be shorter than Stripe allows; the flow refunds a payment that
            # arrives after its hold lapsed, so the session may safely outlive it.
            earliest, latest = now() + _MIN_SESSION + timedelta(minutes=1), now() + _MAX_SESSION
            params["expires_at"] = int(min(max(payment.expires_at, earliest), latest).timestamp())
        key = f"shanlian-gift-{gift}-checkout-{payment.attempt}"
        try:
            session = self.client.v1.checkout.sessions.create(
                params=params, options={"idempotency_key": key})
        except stripe.StripeError as error:
            raise _gateway_error(error) from None
        return PaymentStart(provider=self.name, provider_ref=session.id, amount=payment.amount,
                            redirect_url=session.url)

    def refund(self, payment_ref: str, amount: Money | None, *, gift_id: int,
               idempotency_key: str) -> RefundResult:
        """A full refund (amount None) or a partial one, in fen, of a PaymentIntent."""
        params: dict = {"payment_intent": payment_ref, "metadata": {"gift_id": str(gift_id)}}
        if amount is not None:
            if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
                raise ValueError("a refund amount is a positive integer number of fen")
            params["amount"] = amount
        try:
            refund = self.client.v1.refunds.create(
                params=params, options={"idempotency_key": idempotency_key})
        except stripe.StripeError as error:
            raise _gateway_error(error) from None
        return RefundResult(provider=self.name, refund_ref=refund.id, amount=refund.amount,
                            status=_REFUND_STATUS.get(refund.status, RefundStatus.PENDING))

    # -- webhooks -------------------------------------------------------------------------

    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        if not self.webhook_secret:
            raise WebhookRejected("未配置 STRIPE_WEBHOOK_SECRET")
        signature = _header(headers, "Stripe-Signature")
        if not signature:
            raise WebhookRejected("缺少签名")
        try:
            stripe.WebhookSignature.verify_header(payload, signature, self.webhook_secret,
                                                  tolerance=WEBHOOK_TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError:
            raise WebhookRejected("签名无效或已过期") from None
        try:
            event = json.loads(payload)
            return normalise_event(event)
        except (ValueError, TypeError, KeyError, AttributeError):
            raise WebhookRejected("无法解析的事件") from None


def normalise_event(event: dict) -> PaymentEvent:
    """A Stripe event (as JSON) in our terms; unknown types come back as IGNORED."""
    kind_name = event["type"]
    obj = event["data"]["object"]
    common = dict(event_id=str(event["id"]), provider="stripe", source_type=kind_name,
                  occurred_at=datetime.fromtimestamp(int(event["created"]), UTC),
                  gift_id=_gift_id(obj))

    if kind_name in ("checkout.session.completed", "checkout.session.async_payment_succeeded",
                     "checkout.session.async_payment_failed", "checkout.session.expired"):
        if kind_name == "checkout.session.expired":
            kind = EventKind.EXPIRED
        elif kind_name == "checkout.session.async_payment_failed":
            kind = EventKind.FAILED
        else:
            # alipay/wechat_pay may complete the session before the money is confirmed.
            kind = EventKind.PAID if obj.get("payment_status") == "paid" else EventKind.PENDING
        return PaymentEvent(kind=kind, payment_ref=_ref(obj.get("payment_intent")),
                            amount=obj.get("amount_total"), currency=obj.get("currency"),
                            session_ref=obj.get("id"), **common)

    if kind_name in ("payment_intent.succeeded", "payment_intent.payment_failed",
                     "payment_intent.canceled"):
        paid = kind_name == "payment_intent.succeeded"
        return PaymentEvent(kind=EventKind.PAID if paid else EventKind.FAILED,
                            payment_ref=obj.get("id"),
                            amount=obj.get("amount_received") if paid else obj.get("amount"),
                            currency=obj.get("currency"), **common)

    if kind_name == "charge.refunded":
        return PaymentEvent(kind=EventKind.REFUNDED, payment_ref=_ref(obj.get("payment_intent")),
                            amount=obj.get("amount_refunded"), currency=obj.get("currency"),
                            fully_refunded=bool(obj.get("refunded")), **common)

    if kind_name in ("refund.created", "refund.updated", "refund.failed",
                     "charge.refund.updated"):
        return PaymentEvent(kind=EventKind.REFUND_UPDATED,
                            payment_ref=_ref(obj.get("payment_intent")),
                            amount=obj.get("amount"), currency=obj.get("currency"),
                            refund_ref=obj.get("id"),
                            refund_status=_REFUND_STATUS.get(obj.get("status"),
                                                             RefundStatus.PENDING),
                            **common)

    return PaymentEvent(kind=EventKind.IGNORED, payment_ref=None, amount=None, currency=None,
                        **common)


def _gift_id(obj: dict) -> int | None:
    raw = (obj.get("metadata") or {}).get("gift_id") or obj.get("client_reference_id")
    return int(raw) if isinstance(raw, str) and raw.isdigit() else None


def _ref(value) -> str | None:
    """An expandable field: an id string, or the expanded object with its id."""
    if isinstance(value, dict):
        return value.get("id")
    return value


def _header(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def _gateway_error(error: stripe.StripeError) -> GatewayError:
    detail = getattr(error, "user_message", None) or type(error).__name__
    return GatewayError("支付服务暂时无法处理，请稍后再试（%(detail)s）", detail=detail)
