"""Paying a pledge's tranche in through the giving gateway: the enterprise asks to pay a
tranche and gets a bank-transfer reference code (SL-XXXX-XXXX) and the platform's account,
exactly as a donor's bank transfer does (donors/bank_transfer.py); staff confirm the money
when it shows on the bank account (`donors.services.confirm_tranche`), by hand or from a
line of an uploaded bank statement (`expected_tranches` feeds donors.statements), and only
then is it paid in and matched. Enterprises pay by 对公转账, so the tranche path is bank transfer only:
a card checkout's webhook speaks of gifts, not tranches."""
from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from core.audit import record
from core.clock import aware
from core.errors import UserError
from donors.bank_transfer import BankTransferGateway
from donors.gateway import GiftPayment as PaymentRequest
from donors.gateway import PaymentStart
from donors.giving_models import GiftPayment
from donors.models import Enterprise, Pledge, PledgeTranche
from donors.statements import TRANCHE, ExpectedPayment


def reference_taken(session: Session):
    """A code is free only if no gift and no tranche holds it (both columns are UNIQUE)."""
    def taken(code: str) -> bool:
        return (session.execute(select(GiftPayment.id).where(GiftPayment.reference == code))
                .first() is not None
                or session.execute(select(PledgeTranche.id).where(
                    PledgeTranche.reference == code)).first() is not None)
    return taken


def pay_by_transfer(session: Session, gateway: BankTransferGateway, tranche: PledgeTranche,
                    actor_id: int | None) -> PaymentStart:
    """The reference code and account for paying this tranche. Asking again gives the same
    code (the enterprise may have quoted it already); a paid tranche is refused."""
    session.refresh(tranche)
    if tranche.paid_at is not None:
        raise UserError("这一期认捐款已确认到账")
    pledge = session.get(Pledge, tranche.pledge_id)
    if tranche.reference:
        return PaymentStart(provider=gateway.name, provider_ref=tranche.reference,
                            amount=tranche.amount, account=gateway.account,
                            reference=tranche.reference)
    start = gateway.create_payment(PaymentRequest(
        gift_id=tranche.id, amount=int(tranche.amount),
        description=f"{pledge.code} {pledge.title} #{tranche.seq}"[:200]))
    tranche.reference = start.reference
    session.add(tranche)
    session.flush()
    record(session, "pledge.tranche_reference", f"pledge:{pledge.code}", actor_id,
           tranche=tranche.seq, reference=start.reference)
    return start


def awaiting_tranches(session: Session) -> list[tuple[PledgeTranche, Pledge]]:
    """Tranches not yet paid in, due first: what staff look for on the bank account."""
    return list(session.execute(
        select(PledgeTranche, Pledge).join(Pledge, Pledge.id == PledgeTranche.pledge_id)
        .where(PledgeTranche.paid_at.is_(None))
        .order_by(PledgeTranche.due, PledgeTranche.id)).all())


def expected_tranches(session: Session) -> list[ExpectedPayment]:
    """Unpaid tranches in the shape the statement reconciliation takes: the code the
    enterprise was given (if it asked for one), the amount, and the enterprise's name as its
    bank writes the payer."""
    rows = session.execute(
        select(PledgeTranche, Pledge, Enterprise.name)
        .join(Pledge, Pledge.id == PledgeTranche.pledge_id)
        .join(Enterprise, Enterprise.id == Pledge.enterprise_id)
        .where(PledgeTranche.paid_at.is_(None)).order_by(PledgeTranche.id)).all()
    return [ExpectedPayment(gift_id=tranche.id, reference=tranche.reference or "",
                            amount=int(tranche.amount), payer_name=name,
                            created_on=aware(pledge.created_at).date(), kind=TRANCHE)
            for tranche, pledge, name in rows]
