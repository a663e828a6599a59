"""The donor's path for one gift: start it (a pending donation, a hold on a whole need, a
payment with a reference), then confirm it when the money has really arrived (the ledger
transaction is written only then), or let its hold lapse.

The bank-transfer flow: `start_gift` → the donor pays quoting the reference → staff
`confirm_payment` (by hand, or from a reconciled statement line). Money that arrives after
the hold lapsed and the wish went to someone else is not credited: it is refunded or
redirected as the donor chose (donors/late_gifts.py), and nothing is refused (a refusal
would roll back)."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.audit import record
from core.clock import aware, now
from core.errors import UserError
from core.money import Money
from donors import gift_batches, tranche_payments
from donors.fund_gifts import fund_gift_amount, start_fund_donation
from donors.gateway import GiftPayment as PaymentRequest
from donors.gateway import PaymentGateway, PaymentStart
from donors.giving_models import IF_TAKEN, GiftPayment
from donors.models import Donation, Donor
from donors.services import start_donation
from donors.statements import ExpectedPayment
from funds.models import CommunityFund
from needs.holds import place_hold, release_hold
from needs.models import Need

OPEN = gift_batches.OPEN  # payment states whose money may still be confirmed
MIN_GIFT = 100  # ¥1.00
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")  # mainland mobile numbers


def hold_minutes(env=None) -> int:
    """HOLD_MINUTES (default 15): how long a claimed wish or student-year is held."""
    env = os.environ if env is None else env
    value = (env.get("HOLD_MINUTES") or "15").strip()
    if not value.isdigit() or not 1 <= int(value) <= 24 * 60:
        raise ValueError(f"HOLD_MINUTES={value!r}: a whole number of minutes, 1 to 1440")
    return int(value)


@dataclass(frozen=True)
class StartedGift:
    donation: Donation
    payment: GiftPayment
    start: PaymentStart


def check_contact(contact: str, required: bool) -> str:
    """An email address or a mainland mobile number (spaces and dashes allowed)."""
    text = (contact or "").strip()
    if not text:
        if required:
            raise UserError("请填写手机号或电子邮箱，以便我们寄送收据")
        return ""
    compact = re.sub(r"[\s\-]", "", text)
    if compact.startswith("+86"):
        compact = compact[3:]
    if _MOBILE.match(compact):
        return compact
    if _EMAIL.match(text) and len(text) <= 120:
        return text
    raise UserError("“%(contact)s”不是有效的手机号或电子邮箱", contact=text[:40])


def _donor_for(session: Session, name: str, show_name: bool, user_id: int | None) -> Donor:
    """A signed-in donor keeps one donor record per way of being shown; a guest gets one per
    gift (we cannot know two guests are the same person)."""
    if user_id is not None:
        found = session.execute(select(Donor).where(
            Donor.user_id == user_id, Donor.name == name, Donor.show_name == show_name)
        ).scalars().first()
        if found is not None:
            return found
    donor = Donor(name=name, show_name=show_name, user_id=user_id)
    session.add(donor)
    session.flush()
    return donor


def gift_amount(need: Need, amount: Money | None) -> Money:
    """A whole need (微心愿, a student-year) is claimed for its full amount; anything else
    takes what the donor typed, at least ¥1."""
    if need.whole:
        return Money.fen(need.amount)
    if amount is None:
        raise UserError("请填写捐赠金额")
    if amount < MIN_GIFT:
        raise UserError("捐赠金额至少 %(minimum)s", minimum=Money.fen(MIN_GIFT))
    return amount


def start_gift(session: Session, gateway: PaymentGateway, need: Need, amount: Money | None, *,
               name: str, contact: str = "", show_name: bool = False,
               user_id: int | None = None, minutes: int | None = None,
               return_url=None, if_taken: str = "refund") -> StartedGift:
    """Start paying for a gift to `need`. Nothing reaches the ledger here. `return_url(gift
    id)` is where a hosted checkout sends the donor back (success or cancel)."""
    name, contact = _giver(name, contact, user_id)
    if if_taken not in IF_TAKEN:
        raise UserError("请选择心愿被他人认领后如何处理您的捐款")
    amount = gift_amount(need, amount)
    donor = _donor_for(session, name, show_name, user_id)
    donation = start_donation(session, donor, need, amount)
    until = None
    if need.whole:
        until = place_hold(session, need, f"donation:{donation.id}",
                           now() + timedelta(minutes=minutes or hold_minutes()))
        # An audit entry also moves the public pages' data version, so "认领中" shows at once.
        record(session, "need.hold", f"need:{need.code}", user_id, until=until.isoformat())
    return _pay(session, gateway, donation, f"{need.code} {need.title}", name=name,
                contact=contact, until=until, return_url=return_url, if_taken=if_taken)


def _pay(session: Session, gateway: PaymentGateway, donation: Donation, description: str, *,
         name: str, contact: str, until, return_url, if_taken: str = "refund") -> StartedGift:
    """Ask the gateway to collect a pending donation and keep how it is being paid."""
    request = PaymentRequest(
        gift_id=donation.id, amount=int(donation.amount), description=description[:200],
        success_url=return_url(donation.id) if return_url else "",
        cancel_url=return_url(donation.id) if return_url else "",
        payer_email=contact if "@" in contact else None, expires_at=until)
    start = gateway.create_payment(request)
    payment = GiftPayment(donation_id=donation.id, provider=start.provider,
                          reference=start.provider_ref, payer_name=name, contact=contact,
                          hold_until=until, if_taken=if_taken)
    session.add(payment)
    session.flush()
    return StartedGift(donation, payment, start)


def _giver(name: str, contact: str, user_id: int | None) -> tuple[str, str]:
    name = (name or "").strip()
    if not name:
        raise UserError("请填写姓名")
    if len(name) > 60:
        raise UserError("姓名太长（最多 60 个字）")
    return name, check_contact(contact, required=user_id is None)


def start_fund_gift(session: Session, gateway: PaymentGateway, fund: CommunityFund,
                    amount: Money | None, *, name: str, contact: str = "",
                    show_name: bool = False, user_id: int | None = None,
                    return_url=None) -> StartedGift:
    """Start paying for a gift to a community fund or a programme's general fund (any
    amount from ¥1; no hold). Nothing reaches the ledger here."""
    name, contact = _giver(name, contact, user_id)
    amount = fund_gift_amount(amount)
    donor = _donor_for(session, name, show_name, user_id)
    donation = start_fund_donation(session, donor, fund, amount)
    return _pay(session, gateway, donation, fund.name, name=name, contact=contact, until=None,
                return_url=return_url)


def reference_taken(session: Session):
    """What the bank-transfer gateway asks before handing out a code (it is UNIQUE too):
    a gift's and a pledge tranche's codes share one space, so a statement line names one."""
    return tranche_payments.reference_taken(session)


def confirm_payment(session: Session, payment: GiftPayment, actor_id: int | None = None) -> str:
    """The money of this payment has arrived (staff saw it on the bank account, or the
    provider said so). Queues its confirmation and applies the queue in the caller's unit
    of work (donors.gift_batches: a batch of this gift and whatever others queued), then
    returns this gift's outcome: "confirmed" (the need is credited, with any 配捐 share; the
    receipt job deferred), "late" (the need can no longer take it: being refunded) or
    "redirected" (to the general fund, as the donor chose)."""
    if payment.status not in OPEN:
        raise UserError("这笔捐款已经处理过了")
    gift_batches.queue(session, payment.id, actor_id)
    return _outcome(session, payment.id)


def _outcome(session: Session, payment_id: int) -> str:
    outcome = gift_batches.apply_pending(session).get(payment_id)
    while outcome is None:  # a long queue before ours, or another transaction applied it
        outcome = gift_batches.outcome_of(session, payment_id)
        if outcome is None and not gift_batches.apply_pending(session):
            raise RuntimeError(f"gift payment {payment_id}: queued but not applied")
    if outcome not in gift_batches.OUTCOMES:
        raise UserError("这笔捐款已经处理过了")
    return outcome


def confirm_and_wait(engine: Engine, payment_id: int, actor_id: int | None = None) -> str:
    """confirm_payment for a caller with no unit of work of its own (many confirmations at
    once: a burst of webhooks, a statement upload, the benchmark's clients): the
    confirmations this process is making at the same moment are queued and applied
    together in one unit of work (donors.gift_batches.combined). Returns the outcome, as
    confirm_payment does; UserError if the payment was already processed."""
    return gift_batches.combined(engine, payment_id, actor_id)


def release_expired(session: Session) -> int:
    """Lift every lapsed hold and mark its payment expired (the scheduled job). The gift stays
    pending: if its money still arrives and the need is free, staff can confirm it."""
    lapsed = session.execute(select(GiftPayment).where(
        GiftPayment.status == "awaiting", GiftPayment.hold_until.is_not(None),
        GiftPayment.hold_until <= now())).scalars().all()
    for payment in lapsed:
        donation = session.get(Donation, payment.donation_id)
        need = session.get(Need, donation.need_id)
        if release_hold(session, need, f"donation:{donation.id}"):
            record(session, "need.hold_lapsed", f"need:{need.code}")
        payment.status = "expired"
    session.flush()
    return len(lapsed)


def awaiting_payments(session: Session, provider: str = "bank_transfer") -> list[GiftPayment]:
    """Bank transfers staff may still confirm: awaiting, or expired but not yet paid."""
    return list(session.execute(select(GiftPayment).where(
        GiftPayment.provider == provider, GiftPayment.status.in_(("awaiting", "expired")))
        .order_by(GiftPayment.id)).scalars())


def expected_payments(session: Session) -> list[ExpectedPayment]:
    """The open bank transfers in the shape the statement reconciliation takes."""
    rows = session.execute(select(GiftPayment, Donation).join(
        Donation, Donation.id == GiftPayment.donation_id).where(
        GiftPayment.provider == "bank_transfer",
        GiftPayment.status.in_(("awaiting", "expired")))).all()
    return [ExpectedPayment(gift_id=payment.id, reference=payment.reference,
                            amount=donation.amount, payer_name=payment.payer_name,
                            created_on=aware(payment.created_at).date())
            for payment, donation in rows]
