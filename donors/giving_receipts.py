"""The 捐赠收据 of a confirmed gift: rendered once from the gift and its ledger transaction,
stored, and served as stored ever after. `public_receipt` is what the public verification
page shows: no name beyond what the donor chose (张** unless named), no contact."""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from core.privacy import donor_display_name
from donors.fund_gifts import GiftTarget, target_of
from donors.giving_models import GiftPayment, GiftReceipt
from donors.models import Donation, Donor
from donors.receipts import Giver, ReceiptData, receipt_number, receipt_pdf
from funds.models import LedgerTxn


def public_base_url(env=None) -> str:
    """PUBLIC_BASE_URL: the site's address printed on receipts (their QR code)."""
    env = os.environ if env is None else env
    return (env.get("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")


def verify_url(number: str, base_url: str | None = None) -> str:
    return f"{base_url or public_base_url()}/receipts/{number}"


def issue_receipt(session: Session, donation_id: int, base_url: str | None = None
                  ) -> GiftReceipt | None:
    """Render and keep the receipt of a paid gift, once; None if the gift is not paid."""
    existing = session.execute(select(GiftReceipt).where(
        GiftReceipt.donation_id == donation_id)).scalars().first()
    if existing is not None:
        return existing
    donation = session.get(Donation, donation_id)
    if donation is None or donation.status != "paid" or donation.ledger_seq is None:
        return None
    txn = session.get(LedgerTxn, donation.ledger_seq)
    donor = session.get(Donor, donation.donor_id)
    number = receipt_number(txn.at, donation.id)
    pdf = receipt_pdf(ReceiptData(
        number=number, giver=Giver(donor.name, named=donor.show_name), amount=donation.amount,
        purpose=target_of(session, donation).purpose, confirmed_at=txn.at, ledger_seq=txn.seq,
        ledger_hash=txn.hash, verify_url=verify_url(number, base_url)))
    receipt = GiftReceipt(donation_id=donation.id, number=number, pdf=pdf)
    session.add(receipt)
    session.flush()
    return receipt


@dataclass(frozen=True)
class PublicReceipt:
    number: str
    giver: str  # as the donor chose: 张** or the name
    amount: int
    target: GiftTarget  # the need, fund or programme the gift was for
    confirmed_at: datetime
    ledger_seq: int
    ledger_hash: str

    @property
    def need_code(self) -> str | None:
        return self.target.code if self.target.kind == "need" else None


def public_receipt(session: Session, number: str) -> PublicReceipt | None:
    row = session.execute(
        select(GiftReceipt, Donation, Donor, LedgerTxn)
        .join(Donation, Donation.id == GiftReceipt.donation_id)
        .join(Donor, Donor.id == Donation.donor_id)
        .join(LedgerTxn, LedgerTxn.seq == Donation.ledger_seq)
        .where(GiftReceipt.number == number)).first()
    if row is None:
        return None
    receipt, donation, donor, txn = row
    return PublicReceipt(receipt.number, donor_display_name(donor.name, donor.show_name),
                         donation.amount, target_of(session, donation), txn.at, txn.seq,
                         txn.hash)


def receipt_for_payment(session: Session, payment: GiftPayment) -> GiftReceipt | None:
    return session.execute(select(GiftReceipt).where(
        GiftReceipt.donation_id == payment.donation_id)).scalars().first()
