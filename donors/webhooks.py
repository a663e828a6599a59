"""A payment provider's events, acted on at most once each and in any order.

The event id is stored first (UNIQUE): a replay finds it and does nothing. Then the event
moves the gift forward only: money confirmed (PAID) credits the need once, whichever of
checkout.session.completed / payment_intent.succeeded comes first; an expiry or failure
releases the hold only while the gift is still unpaid. So every order of one gift's events
leaves the same ledger. A PAID event whose amount or currency differ from the gift's is
recorded and not credited."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from core.audit import record
from donors.gateway import EventKind, PaymentEvent, RefundStatus
from donors.giving import confirm_payment
from donors.giving_models import GiftPayment, PaymentEventRecord
from donors.models import Donation
from donors.returns import refund_failed
from needs.holds import release_hold
from needs.models import Need


def handle_event(session: Session, event: PaymentEvent) -> str:
    """Act on one authentic event; returns what happened (stored with the event id)."""
    row = PaymentEventRecord(provider=event.provider, event_id=event.event_id,
                             source_type=event.source_type, gift_id=event.gift_id)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return "duplicate"
    row.outcome = _act(session, event)
    session.flush()
    return row.outcome


def _act(session: Session, event: PaymentEvent) -> str:
    if event.gift_id is None:
        return "no_gift"
    payment = session.execute(select(GiftPayment).where(
        GiftPayment.donation_id == event.gift_id,
        GiftPayment.provider == event.provider)).scalars().first()
    if payment is None:
        return "unknown_gift"
    donation = session.get(Donation, payment.donation_id)
    if event.kind == EventKind.PAID:
        if event.amount != donation.amount or (event.currency or "").lower() != "cny":
            record(session, "payment.mismatch", f"donation:{donation.id}",
                   event=event.event_id, amount=event.amount, currency=event.currency)
            return "amount_mismatch"
        # The PaymentIntent is what a later refund names (whichever event brings it).
        payment.provider_payment_ref = payment.provider_payment_ref or event.payment_ref
        if payment.status not in ("awaiting", "expired"):
            return "already_" + payment.status
        return confirm_payment(session, payment)
    if event.kind in (EventKind.EXPIRED, EventKind.FAILED):
        if payment.status != "awaiting":
            return "ignored"
        if donation.need_id is not None:  # a gift to a fund holds nothing
            release_hold(session, session.get(Need, donation.need_id),
                         f"donation:{donation.id}")
        payment.status = "expired"
        return "expired"
    if event.kind == EventKind.REFUND_UPDATED and event.refund_status in (
            RefundStatus.FAILED, RefundStatus.CANCELED):
        return refund_failed(session, donation.id, event.refund_ref)
    return "recorded"
