"""Money that arrives after its hold lapsed and the wish (or student-year) went to someone
else. It is never credited to the need. What happens instead is what the donor chose when
giving (`GiftPayment.if_taken`):

- "redirect": the gift becomes a gift to the programme's general fund (the platform's for
  a need with no programme), credited and receipted like any fund gift;
- "refund" (the default): the payment is marked `late` and sent back — by Stripe's refund
  API from a job (`jobs.tasks.refund_late_payment`, idempotency key per payment, so a
  retried job refunds once), or, for a bank transfer, by finance staff who send it and
  record the bank's reference on `/staff/payments/`.

Either way the donor is told, in the same unit of work."""
from __future__ import annotations

from sqlmodel import Session, select

from core.audit import record
from core.clock import now
from core.errors import NotFound, UserError
from core.money import Money
from core.outbox import defer
from donors.donor_notices import tell
from donors.fund_gifts import confirm_fund_donation
from donors.gateway import PaymentGateway, RefundStatus
from donors.giving_models import GiftPayment
from donors.models import Donation
from donors.returns import general_fund
from needs.models import Need

REFUND_JOB = "jobs.tasks.refund_late_payment"


def settle_late(session: Session, payment: GiftPayment, donation: Donation, need: Need,
                actor_id: int | None) -> str:
    """The need can no longer take this money: redirect it or start its refund, as the
    donor chose. Returns "redirected" or "late"."""
    payment.confirmed_at, payment.confirmed_by = now(), actor_id
    if payment.if_taken == "redirect":
        fund = general_fund(session, need)
        donation.need_id, donation.fund_id = None, fund.id
        session.flush()
        confirm_fund_donation(session, donation, payment_ref=payment.reference)
        payment.status = "confirmed"
        session.flush()
        defer(session, "jobs.tasks.issue_receipt", donation.id)
        record(session, "payment.late_redirected", f"donation:{donation.id}",
               actor_id, need=need.code, fund=fund.code)
        tell(session, donation, "gift_late_redirected", f"gift_late:donation:{donation.id}",
             payment=payment, need=need.title, fund=fund.name, amount=Money.fen(donation.amount))
        return "redirected"
    payment.status = "late"
    session.flush()
    record(session, "payment.late", f"donation:{donation.id}", actor_id, need=need.code)
    if payment.provider == "stripe":
        defer(session, REFUND_JOB, payment.id)
    tell(session, donation, "gift_late_refund", f"gift_late:donation:{donation.id}",
         payment=payment, need=need.title, amount=Money.fen(donation.amount))
    return "late"


def _locked_late(session: Session, payment_id: int) -> GiftPayment | None:
    return session.exec(select(GiftPayment).where(GiftPayment.id == payment_id)
                        .with_for_update().execution_options(populate_existing=True)).first()


def refund_by_gateway(session: Session, payment_id: int, gateway: PaymentGateway) -> str:
    """Send a late Stripe payment back (the job). The row is locked first and the refund
    carries an idempotency key of its own, so a retried or doubled job refunds once."""
    payment = _locked_late(session, payment_id)
    if payment is None or payment.status != "late":
        return "nothing_to_do"
    if payment.provider != "stripe" or gateway.name != "stripe":
        return "by_staff"
    if not payment.provider_payment_ref:
        raise UserError("这笔付款缺少支付单号，无法自动退款")
    donation = session.get(Donation, payment.donation_id)
    result = gateway.refund(payment.provider_payment_ref, int(donation.amount),
                            gift_id=donation.id,
                            idempotency_key=f"shanlian-late-payment-{payment.id}")
    if result.status in (RefundStatus.FAILED, RefundStatus.CANCELED):
        raise UserError("退款未成功，将重试")  # the job fails and rq retries it
    _refunded(session, payment, donation, result.refund_ref or "", None)
    return "refunded"


def record_bank_refund(session: Session, payment_id: int, bank_ref: str,
                       actor_id: int) -> GiftPayment:
    """Finance staff sent a late bank transfer back: record the bank's reference."""
    bank_ref = (bank_ref or "").strip()
    if not bank_ref:
        raise UserError("请填写退款的银行流水号")
    payment = _locked_late(session, payment_id)
    if payment is None:
        raise NotFound("找不到这笔捐赠")
    if payment.status != "late":
        raise UserError("这笔捐款已经处理过了")
    if payment.provider != "bank_transfer":
        raise UserError("线上支付的逾期款项由系统自动退款")
    _refunded(session, payment, session.get(Donation, payment.donation_id), bank_ref, actor_id)
    return payment


def _refunded(session: Session, payment: GiftPayment, donation: Donation, ref: str,
              actor_id: int | None) -> None:
    payment.status, payment.refund_ref, payment.refunded_at = "refunded", ref[:120], now()
    donation.status = "refunded"
    session.flush()
    record(session, "payment.late_refunded", f"donation:{donation.id}", actor_id, refund=ref)


def late_payments(session: Session) -> list[GiftPayment]:
    """Late money still to send back, oldest first (the staff page)."""
    return list(session.exec(select(GiftPayment).where(GiftPayment.status == "late")
                             .order_by(GiftPayment.confirmed_at, GiftPayment.id)).all())
