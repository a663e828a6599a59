"""A batch of gift confirmations decided in Python (donors.gift_batches): the queued
intents read, the needs and open 配捐 offers involved locked, and each gift decided in
queue order against that locked state (confirmed with its offers' shares, or the late
path), its ledger entries gathered in order. donors.gift_batch_writes writes the outcome."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from core.clock import aware, now
from core.users import User
from donors.fund_gifts import confirm_fund_donation
from donors.giving_models import GiftConfirmation, GiftPayment
from donors.late_gifts import settle_late
from donors.match_models import MatchOffer, MatchOfferNeed
from donors.match_offers import eligible, share_amount
from donors.models import Donation, Donor, Enterprise
from funds import accounts, ledger
from needs.funding import FUNDABLE
from needs.models import Need

OPEN = ("awaiting", "expired")  # payment states whose money may still be confirmed
RECEIPT_JOB = "jobs.tasks.issue_receipt"

QUEUE = GiftConfirmation.__table__
PAYMENTS = GiftPayment.__table__
DONATIONS = Donation.__table__
NEEDS = Need.__table__
OFFERS = MatchOffer.__table__


# ---- reading a batch

_PENDING = (
    select(QUEUE.c.id, QUEUE.c.payment_id, QUEUE.c.actor_id, PAYMENTS.c.status,
           PAYMENTS.c.reference, PAYMENTS.c.contact, DONATIONS.c.id, DONATIONS.c.need_id,
           DONATIONS.c.fund_id, DONATIONS.c.amount, DONATIONS.c.status,
           Donor.__table__.c.public_id, User.__table__.c.id, User.__table__.c.email,
           User.__table__.c.locale, User.__table__.c.active)
    .select_from(QUEUE.join(PAYMENTS, PAYMENTS.c.id == QUEUE.c.payment_id)
                 .join(DONATIONS, DONATIONS.c.id == PAYMENTS.c.donation_id)
                 .outerjoin(Donor.__table__, Donor.__table__.c.id == DONATIONS.c.donor_id)
                 .outerjoin(User.__table__, User.__table__.c.id == Donor.__table__.c.user_id))
    .where(QUEUE.c.outcome.is_(None)).order_by(QUEUE.c.id).limit(bindparam("limit"))
)
_NEED_COLUMNS = (NEEDS.c.id, NEEDS.c.code, NEEDS.c.title, NEEDS.c.amount, NEEDS.c.funded,
                 NEEDS.c.state, NEEDS.c.whole, NEEDS.c.hold_holder, NEEDS.c.hold_until,
                 NEEDS.c.programme_id, NEEDS.c.category, NEEDS.c.region)
_LOCK_NEEDS = (select(*_NEED_COLUMNS).where(NEEDS.c.id.in_(bindparam("ids", expanding=True)))
               .order_by(NEEDS.c.id).with_for_update(key_share=True))
_LOCK_OFFERS = (
    select(OFFERS, Enterprise.__table__.c.code.label("enterprise_code"),
           Enterprise.__table__.c.name.label("enterprise_name"))
    .join(Enterprise.__table__, Enterprise.__table__.c.id == OFFERS.c.enterprise_id)
    .where(OFFERS.c.status == "approved", OFFERS.c.used < OFFERS.c.total_cap)
    .order_by(OFFERS.c.id).with_for_update(of=OFFERS, key_share=True))
# FOR NO KEY UPDATE (key_share): what an UPDATE of these rows takes anyway, and it lets a
# caller that inserted rows pointing at them (a donation's foreign key: FOR KEY SHARE) wait
# for the applier's lock without deadlocking the applier.
_COUNTERS = select(MatchOfferNeed.__table__).where(
    MatchOfferNeed.__table__.c.offer_id.in_(bindparam("offers", expanding=True)),
    MatchOfferNeed.__table__.c.need_id.in_(bindparam("needs", expanding=True)))


@dataclass
class Gift:
    intent_id: int
    payment_id: int
    actor_id: int | None
    payment_status: str
    reference: str
    contact: str
    donation_id: int
    need_id: int | None
    fund_id: int | None
    amount: int
    donation_status: str
    donor_public_id: str | None
    user_id: int | None
    email: str
    locale: str
    outcome: str = ""
    seq: int | None = None  # the donation's ledger transaction
    released_hold: bool = False
    shares: list = field(default_factory=list)  # [offer, need, amount, ledger seq] each


def _gift(row) -> Gift:
    (intent_id, payment_id, actor_id, payment_status, reference, contact, donation_id, need_id,
     fund_id, amount, donation_status, public_id, user_id, email, locale, active) = row
    if user_id is None or not active:  # core: donors.donor_notices.recipient
        user_id, email, locale = None, contact if "@" in (contact or "") else "", "zh_CN"
    return Gift(intent_id, payment_id, actor_id, payment_status, reference, contact or "",
                donation_id, need_id, fund_id, int(amount), donation_status, public_id,
                user_id, email or "", locale or "zh_CN")


@dataclass
class LockedNeed:
    """A locked need row, and what this batch adds to it."""
    id: int
    code: str
    title: str
    amount: int
    funded: int
    state: str
    whole: bool
    hold_holder: str | None
    hold_until: datetime | None
    programme_id: int | None
    category: str
    region: str
    added: int = 0
    release_hold: bool = False
    became_funded: bool = False

    def can_take(self, gift: Gift, at: datetime) -> bool:
        """What reserve_need's guard would say (needs.funding): asked in Python against the
        locked row, so a late gift is settled instead of refused."""
        holder = f"donation:{gift.donation_id}"
        held_by_other = (self.hold_holder and self.hold_holder != holder
                         and aware(self.hold_until) > at)
        if self.state not in FUNDABLE or held_by_other:
            return False
        if self.whole:
            return self.funded == 0 and gift.amount == self.amount
        return self.funded + gift.amount <= self.amount

    def credit(self, amount: int) -> None:
        self.funded += amount
        self.added += amount
        if self.funded == self.amount and not self.became_funded:
            self.state, self.became_funded = "funded", True


@dataclass
class LockedOffer:
    id: int
    code: str
    ratio_pct: int
    per_gift_cap: int | None
    per_need_cap: int | None
    total_cap: int
    used: int
    status: str
    starts_at: datetime
    ends_at: datetime
    programme_ids: list
    categories: list
    regions: list
    enterprise_code: str
    enterprise_name: str
    added: int = 0


def _offer(row) -> LockedOffer:
    m = row._mapping
    return LockedOffer(m["id"], m["code"], m["ratio_pct"], _int(m["per_gift_cap"]),
                       _int(m["per_need_cap"]), int(m["total_cap"]), int(m["used"]),
                       m["status"], m["starts_at"], m["ends_at"],
                       list(m["programme_ids"] or []), list(m["categories"] or []),
                       list(m["regions"] or []), m["enterprise_code"], m["enterprise_name"])


def _int(value) -> int | None:
    return None if value is None else int(value)


def read_pending(connection: Connection, limit: int) -> list[Gift]:
    """Up to `limit` queued intents, in queue order (the caller holds the applier's lock)."""
    return [_gift(row) for row in connection.execute(_PENDING, {"limit": limit}).all()]


def lock_rows(connection: Connection, gifts: list[Gift]
              ) -> tuple[dict[int, LockedNeed], list[LockedOffer], dict]:
    """The needs the gifts go to and the open offers, locked (id order), and the per-need
    counters of the capped offers."""
    need_ids = sorted({g.need_id for g in gifts if g.need_id is not None and g.fund_id is None})
    needs = {row.id: LockedNeed(*row)
             for row in connection.execute(_LOCK_NEEDS, {"ids": need_ids})} if need_ids else {}
    for need in needs.values():
        need.amount, need.funded = int(need.amount), int(need.funded)
    offers = [_offer(row) for row in connection.execute(_LOCK_OFFERS)] if needs else []
    return needs, offers, _counters(connection, offers, need_ids)


def _counters(connection, offers: list[LockedOffer], need_ids: list[int]) -> dict:
    """{(offer id, need id): [cap, used, new?]} of the offers with a per-need cap."""
    capped = [o.id for o in offers if o.per_need_cap is not None]
    if not capped:
        return {}
    return {(row.offer_id, row.need_id): [int(row.cap), int(row.used), False]
            for row in connection.execute(_COUNTERS, {"offers": capped, "needs": need_ids})}


# ---- deciding a batch

def decide(batch: Batch, gifts: list[Gift], needs: dict[int, LockedNeed],
           offers: list[LockedOffer], counters: dict) -> None:
    """Each gift's outcome, in queue order; its ledger entries gathered in `batch` (a fund
    gift or a late one takes its ORM path in its place)."""
    for gift in gifts:
        if gift.payment_status not in OPEN or gift.donation_status != "pending":
            gift.outcome = "skipped"  # applied already by another path; nothing to do
        elif gift.fund_id is not None:
            batch.slow(gift, _confirm_fund_gift)
        elif not needs[gift.need_id].can_take(gift, batch.at):
            batch.slow(gift, _settle_late)
        else:
            _confirm(batch, gift, needs[gift.need_id], offers, counters, batch.at)


class Batch:
    """The ledger entries of the batch's gifts in queue order, written in runs; a gift that
    takes an ORM path (a fund gift, a late one) first writes the run before it, so the
    chain keeps the queue's order."""

    def __init__(self, session: Session, at: datetime) -> None:
        self.session, self.at = session, at
        self.entries: list[ledger.Entry] = []
        self.owners: list[tuple[Gift, object]] = []  # per entry: (gift, None | share)
        self.confirmed: list[Gift] = []

    def add(self, gift: Gift, entry: ledger.Entry, share=None) -> None:
        self.entries.append(entry)
        self.owners.append((gift, share))

    def flush_ledger(self) -> None:
        appended = ledger.append_many(self.session, self.entries)
        for (gift, share), (seq, _hash) in zip(self.owners, appended, strict=True):
            if share is None:
                gift.seq = seq
            else:
                share.append(seq)
        self.entries, self.owners = [], []

    def slow(self, gift: Gift, path) -> None:
        self.flush_ledger()
        gift.outcome = path(self.session, gift)


def _confirm(batch: Batch, gift: Gift, need: LockedNeed, offers: list[LockedOffer],
             counters: dict, at: datetime) -> None:
    """A gift the need can take: its transaction, then each eligible offer's share (the
    rule of donors.match_offers.share_amount, on the locked rows)."""
    if need.hold_holder == f"donation:{gift.donation_id}":  # only this gift's own hold
        need.hold_holder, need.hold_until, need.release_hold = None, None, True
        gift.released_hold = True
    need.credit(gift.amount)
    batch.add(gift, ledger.Entry("donation", f"donation:{gift.donation_id}", [
        (accounts.donor(gift.donor_public_id), -gift.amount),
        (accounts.need(need.code), gift.amount)], memo=need.title))
    gift.outcome = "confirmed"
    batch.confirmed.append(gift)
    for offer in offers:
        if offer.used >= offer.total_cap or not eligible(offer, need, at):
            continue
        counter = None
        if offer.per_need_cap is not None:
            counter = counters.setdefault((offer.id, need.id), [offer.per_need_cap, 0, True])
        amount = share_amount(gift.amount, offer, need.amount - need.funded,
                              counter[0] - counter[1] if counter is not None else None)
        if amount <= 0 or need.whole:
            continue
        offer.used += amount
        offer.added += amount
        if counter is not None:
            counter[1] += amount
        need.credit(amount)
        share = [offer, need, amount]  # the ledger seq is appended when written
        gift.shares.append(share)
        batch.add(gift, ledger.Entry(
            "match", f"match_offer:{offer.code}",
            [(accounts.enterprise(offer.enterprise_code), -amount),
             (accounts.need(need.code), amount)],
            memo=f"{offer.enterprise_name}配捐 → {need.title}"), share)


def _confirm_fund_gift(session: Session, gift: Gift) -> str:
    """A gift to a community fund or a programme: any amount, never late."""
    payment = session.get(GiftPayment, gift.payment_id)
    donation = session.get(Donation, gift.donation_id)
    confirm_fund_donation(session, donation, payment_ref=payment.reference)
    payment.status, payment.confirmed_at, payment.confirmed_by = "confirmed", now(), gift.actor_id
    session.flush()
    session.info.setdefault("shanlian_batch_jobs", []).append((RECEIPT_JOB, [donation.id]))
    return "confirmed"


def _settle_late(session: Session, gift: Gift) -> str:
    payment = session.get(GiftPayment, gift.payment_id)
    donation = session.get(Donation, gift.donation_id)
    return settle_late(session, payment, donation, session.get(Need, gift.need_id),
                       gift.actor_id)
