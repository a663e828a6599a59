"""Gifts to a community fund or to a programme (its general fund, 项目总基金), through the
same payment path as gifts to a need: a pending donation and a payment with a reference
first, the ledger only when the money is confirmed (fund:<code> is credited and its
balance mirror rises in the same unit of work). No hold: a fund takes any amount.

A programme's general fund is a community-fund row flagged `programme_general`, made the
first time someone gives to the programme (a UNIQUE index keeps it to one)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.audit import record
from core.errors import UserError
from core.money import Money
from donors.models import Donation, Donor
from funds import accounts
from funds.models import CommunityFund
from funds.services import create_fund, donate_to_fund_ledger
from needs.models import Need, Programme

MIN_GIFT = 100  # ¥1.00, as for a need


@dataclass(frozen=True)
class GiftTarget:
    """What a gift is for, as a receipt, a statement or a page names it."""

    kind: str  # "need" | "fund" | "programme"
    code: str  # the need's, fund's or programme's code
    title: str

    @property
    def purpose(self) -> str:
        return f"{self.code} {self.title}" if self.kind == "need" else self.title


def general_fund_of(session: Session, programme: Programme) -> CommunityFund | None:
    return session.execute(select(CommunityFund).where(
        CommunityFund.programme_id == programme.id, CommunityFund.programme_general)
    ).scalars().first()


def general_fund(session: Session, programme: Programme) -> CommunityFund:
    """The programme's general fund, made on first use; two first gifts at once make one."""
    found = general_fund_of(session, programme)
    if found is not None:
        return found
    try:
        with session.begin_nested():
            fund = create_fund(session, f"{programme.name} · 项目总基金", programme.region,
                               code=f"PG-{programme.id}", programme_id=programme.id)
            fund.programme_general = True
            session.flush()
            return fund
    except IntegrityError:  # someone else made it a moment ago
        return general_fund_of(session, programme)


def fund_gift_amount(amount: Money | None) -> Money:
    if amount is None:
        raise UserError("请填写捐赠金额")
    if amount < MIN_GIFT:
        raise UserError("捐赠金额至少 %(minimum)s", minimum=Money.fen(MIN_GIFT))
    return amount


def start_fund_donation(session: Session, donor: Donor, fund: CommunityFund,
                        amount: Money) -> Donation:
    donation = Donation(donor_id=donor.id, fund_id=fund.id, amount=fund_gift_amount(amount),
                        status="pending")
    session.add(donation)
    session.flush()
    return donation


def confirm_fund_donation(session: Session, donation: Donation,
                          payment_ref: str | None = None) -> Donation:
    """The money arrived: the fund's ledger account and balance rise, once."""
    if donation.status != "pending" or donation.fund_id is None:
        raise UserError("这笔捐款不在待确认状态")
    fund = session.get(CommunityFund, donation.fund_id)
    donor = session.get(Donor, donation.donor_id)
    txn = donate_to_fund_ledger(session, fund, accounts.donor(donor.public_id), donation.amount,
                                "donation", f"donation:{donation.id}", memo=fund.name)
    donation.status, donation.ledger_seq, donation.payment_ref = "paid", txn.seq, payment_ref
    session.flush()
    record(session, "fund.gift", f"fund:{fund.code}", amount=donation.amount)
    return donation


def target_of(session: Session, donation: Donation) -> GiftTarget:
    if donation.need_id is not None:
        need = session.get(Need, donation.need_id)
        return GiftTarget("need", need.code, need.title)
    fund = session.get(CommunityFund, donation.fund_id)
    if fund.programme_general and fund.programme_id is not None:
        programme = session.get(Programme, fund.programme_id)
        return GiftTarget("programme", programme.code, fund.name)
    return GiftTarget("fund", fund.code, fund.name)
