"""“Where did my ¥ go”: a donor's gifts, each with the disbursements it paid for.

A need's money is every credit to its ledger account (gifts, 配捐 shares, pledge and fund
allocations), in ledger order; its disbursements are paid in order too, and
`donors.trail.fifo_trail` assigns the first to the second, first in, first out. A gift is
known to the trail by its ledger transaction's seq, so the same assignment serves the
donor's own page and the public receipt page (which shows no personal data)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlmodel import Session

from donors.fund_gifts import GiftTarget, target_of
from donors.giving_models import GiftPayment, GiftReceipt
from donors.match_models import MatchShare
from donors.models import Donation, Donor
from donors.trail import Trail, fifo_trail
from funds import accounts
from funds.models import Allocation, CommunityFund, Disbursement, LedgerPosting, LedgerTxn
from needs.models import PUBLIC_STATES, Evidence, Need


@dataclass(frozen=True)
class TrailStep:
    """One disbursement (part-)paid by a gift, with the evidence anyone may open."""

    disbursement: Disbursement
    amount: int  # fen of this gift in it
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class GrantStep:
    """Part of a fund gift that a grant from the fund carried to a need (FIFO, as above)."""

    need: Need
    amount: int
    at: object


@dataclass(frozen=True)
class GiftTrailView:
    donation: Donation
    payment: GiftPayment | None
    need: Need | None
    fund: CommunityFund | None  # a community fund or a programme's general fund
    target: GiftTarget
    receipt_number: str | None
    confirmed_at: object | None  # the ledger transaction's time once paid
    steps: tuple[TrailStep, ...]
    undisbursed: int  # fen still held for the need (or the fund's balance)
    matched: int = 0  # fen of 配捐 this gift drew from enterprises' offers
    grants: tuple[GrantStep, ...] = ()  # a fund gift: the grants it went to

    @property
    def disbursed(self) -> int:
        return sum(step.amount for step in self.steps)


def need_trail(session: Session, need: Need) -> tuple[Trail, dict[int, Disbursement]]:
    """The FIFO assignment of a need's credits (by ledger seq) to its disbursements."""
    credits = session.execute(
        select(LedgerPosting.seq, LedgerPosting.amount)
        .where(LedgerPosting.account == accounts.need(need.code), LedgerPosting.amount > 0)
        .order_by(LedgerPosting.seq)).all()
    paid = session.execute(select(Disbursement).where(Disbursement.need_id == need.id)
                           .order_by(Disbursement.at, Disbursement.id)).scalars().all()
    by_seq: dict[int, int] = defaultdict(int)
    for seq, amount in credits:
        by_seq[seq] += amount
    trail = fifo_trail(list(by_seq.items()), [(d.id, d.amount) for d in paid if d.amount > 0])
    return trail, {d.id: d for d in paid}


def fund_trail(session: Session, fund: CommunityFund) -> tuple[Trail, dict[int, GrantStep]]:
    """A fund's credits assigned to what left it (grants to needs), first in, first out;
    outflows are keyed by their ledger seq."""
    rows = session.execute(
        select(LedgerPosting.seq, LedgerPosting.amount)
        .where(LedgerPosting.account == accounts.fund(fund.code))
        .order_by(LedgerPosting.seq)).all()
    credits: dict[int, int] = defaultdict(int)
    debits: dict[int, int] = defaultdict(int)
    for seq, amount in rows:
        (credits if amount > 0 else debits)[seq] += abs(amount)
    grants = session.execute(
        select(Allocation, Need, LedgerTxn).join(Need, Need.id == Allocation.need_id)
        .join(LedgerTxn, LedgerTxn.seq == Allocation.ledger_seq)
        .where(Allocation.fund_id == fund.id, Allocation.ledger_seq.in_(list(debits) or [0]))
    ).all()
    steps = {allocation.ledger_seq: GrantStep(need, 0, txn.at)
             for allocation, need, txn in grants}
    return fifo_trail(list(credits.items()), list(debits.items())), steps


def _grants(session: Session, fund: CommunityFund, seq: int, cache: dict
            ) -> tuple[tuple[GrantStep, ...], int]:
    key = ("fund", fund.id)
    if key not in cache:
        cache[key] = fund_trail(session, fund)
    trail, steps = cache[key]
    try:
        gift = trail.for_gift(seq)
    except KeyError:
        return (), 0
    found = tuple(GrantStep(steps[s.disbursement_id].need, s.amount, steps[s.disbursement_id].at)
                  for s in gift.shares if s.disbursement_id in steps)
    return found, gift.undisbursed


def _evidence(session: Session, need: Need, ids: list[int]) -> dict[int, list[Evidence]]:
    if not ids or need.state not in PUBLIC_STATES:
        return {}
    found: dict[int, list[Evidence]] = defaultdict(list)
    for row in session.execute(select(Evidence).where(Evidence.disbursement_id.in_(ids))
                               .order_by(Evidence.id)).scalars():
        found[row.disbursement_id].append(row)
    return found


def _steps(session: Session, need: Need, seq: int, cache: dict) -> tuple[tuple, int]:
    if need.id not in cache:
        cache[need.id] = need_trail(session, need)
    trail, disbursements = cache[need.id]
    try:
        gift = trail.for_gift(seq)
    except KeyError:  # not (or no longer) a credit of this need
        return (), 0
    evidence = _evidence(session, need, [share.disbursement_id for share in gift.shares])
    steps = tuple(TrailStep(disbursements[share.disbursement_id], share.amount,
                            tuple(evidence.get(share.disbursement_id, ())))
                  for share in gift.shares)
    return steps, gift.undisbursed


def gift_view(session: Session, donation: Donation, cache: dict | None = None
              ) -> GiftTrailView:
    cache = {} if cache is None else cache
    payment = session.execute(select(GiftPayment).where(
        GiftPayment.donation_id == donation.id)).scalars().first()
    receipt = session.execute(select(GiftReceipt.number).where(
        GiftReceipt.donation_id == donation.id)).scalars().first()
    need = session.get(Need, donation.need_id) if donation.need_id else None
    fund = session.get(CommunityFund, donation.fund_id) if donation.fund_id else None
    txn = session.get(LedgerTxn, donation.ledger_seq) if donation.ledger_seq else None
    steps, grants, undisbursed = (), (), 0
    if txn is not None and need is not None:
        steps, undisbursed = _steps(session, need, txn.seq, cache)
    elif txn is not None and fund is not None:
        grants, undisbursed = _grants(session, fund, txn.seq, cache)
    matched = session.execute(select(func.coalesce(func.sum(MatchShare.amount), 0)).where(
        MatchShare.donation_id == donation.id)).scalar_one()
    return GiftTrailView(donation, payment, need, fund, target_of(session, donation), receipt,
                         txn.at if txn else None, steps, undisbursed, int(matched), grants)


def gifts_of_user(session: Session, user_id: int) -> list[GiftTrailView]:
    """Every gift the signed-in person started (paid or not), newest first."""
    donations = session.execute(
        select(Donation).join(Donor, Donor.id == Donation.donor_id)
        .where(Donor.user_id == user_id).order_by(Donation.id.desc())).scalars().all()
    cache: dict = {}
    return [gift_view(session, donation, cache) for donation in donations]


def receipt_trail(session: Session, number: str) -> GiftTrailView | None:
    """The trail of the gift behind a receipt number (the public page shows no names)."""
    donation = session.execute(select(Donation).join(
        GiftReceipt, GiftReceipt.donation_id == Donation.id).where(
        GiftReceipt.number == number)).scalars().first()
    return gift_view(session, donation) if donation is not None else None
