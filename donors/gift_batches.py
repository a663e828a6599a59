"""Gift confirmations applied in batches: the one path by which a gift's money reaches the
ledger (issue 9).

A confirmation is first a queued intent, a `gift_confirmation` row (UNIQUE per payment, so a
webhook delivered twice or a double click queues one). An applier then takes the applier's
lock (a PostgreSQL advisory lock; SQLite serialises writers anyway) and applies every queued
intent, up to BATCH_LIMIT, in queue order, in ONE unit of work:

- the needs and the open 配捐 offers involved are locked with one SELECT … FOR UPDATE each
  (in id order, so two appliers never deadlock);
- each gift is decided in queue order in Python against that locked state, by the rules
  the single gift always followed: the need can take it (fundable, no one else's live hold,
  a whole need claimed whole, never over-funded) → confirmed, and each eligible offer adds
  its share cut to its per-gift, per-need and total caps and to what the need still lacks;
  otherwise the late path (refund or redirect, as the donor chose: donors.late_gifts);
- then everything is written set-wise: the ledger transactions chained in order with one
  multi-row write per table (funds.ledger.append_many), one UPDATE for the needs' mirror
  columns, one for the offers' counters, the payments, donations, allocations, shares, the
  receipt jobs, the donors' notices and their mails, and the intents' outcomes. The CHECK
  constraints (need not over-funded, offer within its caps) still have the last word: a
  violation rolls the whole batch back and leaves the intents queued.

The data version is bumped once per batch (core.data_version), stamping `lists` and each
need posted to. Gifts to a fund (never late) and late gifts take the existing ORM paths,
in their place in the queue order (they are rare).

Who applies: `donors.giving.confirm_payment` queues and applies in the caller's own unit of
work (a batch of its gift and whatever intents others committed), so staff pages and the
Stripe webhook get their outcome as before; `combined` (donors.giving.confirm_and_wait)
combines the confirmations a process is making at the same moment (flat combining: the
threads hand their payments to whichever of them is applying, which queues and applies
them all in one unit of work), so many concurrent confirmations share one transaction and
one commit; `apply_queued` (the periodic job) applies what a process that died after
committing an intent left queued. Appliers in different processes take turns on the
applier's lock, and each applies every committed intent it finds. An intent is applied
once: it is read under that lock and marked with its outcome in the same transaction.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from core.audit import record
from core.clock import aware, now
from core.data_version import note_writes
from core.db import is_postgres, unit_of_work
from core.errors import UserError, shown
from core.money import Money
from core.notify import SEND_JOB, Notification
from core.outbox import OutboxJob
from core.users import User
from donors.fund_gifts import confirm_fund_donation
from donors.giving_models import GiftConfirmation, GiftPayment
from donors.late_gifts import settle_late
from donors.match_models import MatchOffer, MatchOfferNeed, MatchShare
from donors.match_offers import eligible, share_amount
from donors.models import Donation, Donor, Enterprise
from funds import accounts, ledger
from funds.models import Allocation, CommunityFund
from needs.funding import FUNDABLE
from needs.models import Need

APPLIER_LOCK_KEY = 7_004_232  # beside funds.ledger's chain lock, taken before the need rows
BATCH_LIMIT = 256
OPEN = ("awaiting", "expired")  # payment states whose money may still be confirmed
OUTCOMES = ("confirmed", "late", "redirected")
RECEIPT_JOB = "jobs.tasks.issue_receipt"

QUEUE = GiftConfirmation.__table__
PAYMENTS = GiftPayment.__table__
DONATIONS = Donation.__table__
NEEDS = Need.__table__
OFFERS = MatchOffer.__table__


def _insert(session: Session):
    return postgresql.insert if is_postgres(session) else sqlite.insert


def queue(session: Session, payment_id: int, actor_id: int | None = None) -> bool:
    """Queue the confirmation of a payment in the caller's unit of work (one statement).
    False if it was already queued (by this or another transaction, which this waits for)."""
    stmt = (_insert(session)(QUEUE).values(payment_id=payment_id, actor_id=actor_id,
                                           queued_at=now())
            .on_conflict_do_nothing(index_elements=["payment_id"]).returning(QUEUE.c.id))
    return session.connection().execute(stmt).first() is not None


def outcome_of(session: Session, payment_id: int) -> str | None:
    """The applied outcome of a payment's queued confirmation (None: not applied yet)."""
    return session.connection().execute(
        select(QUEUE.c.outcome).where(QUEUE.c.payment_id == payment_id)).scalar()


# The applier's lock, and JIT off for the rest of the batch's transaction: PostgreSQL
# estimates each unnest() at 100 rows, prices the batch's statements above jit_above_cost
# and compiled them, which cost more than running them (560 ms of a 512-transaction write).
_LOCK = text("SELECT pg_advisory_xact_lock(:k), set_config('jit', 'off', true)")


def _lock(session: Session) -> None:
    if is_postgres(session):
        session.connection().execute(_LOCK, {"k": APPLIER_LOCK_KEY})


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
class _Gift:
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
    shares: list = field(default_factory=list)  # [(offer, amount)]


def _gift(row) -> _Gift:
    (intent_id, payment_id, actor_id, payment_status, reference, contact, donation_id, need_id,
     fund_id, amount, donation_status, public_id, user_id, email, locale, active) = row
    if user_id is None or not active:  # core: donors.donor_notices.recipient
        user_id, email, locale = None, contact if "@" in (contact or "") else "", "zh_CN"
    return _Gift(intent_id, payment_id, actor_id, payment_status, reference, contact or "",
                 donation_id, need_id, fund_id, int(amount), donation_status, public_id,
                 user_id, email or "", locale or "zh_CN")


@dataclass
class _Need:
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

    def can_take(self, gift: _Gift, at: datetime) -> bool:
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
class _Offer:
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


def _offer(row) -> _Offer:
    m = row._mapping
    return _Offer(m["id"], m["code"], m["ratio_pct"], _int(m["per_gift_cap"]),
                  _int(m["per_need_cap"]), int(m["total_cap"]), int(m["used"]), m["status"],
                  m["starts_at"], m["ends_at"], list(m["programme_ids"] or []),
                  list(m["categories"] or []), list(m["regions"] or []),
                  m["enterprise_code"], m["enterprise_name"])


def _int(value) -> int | None:
    return None if value is None else int(value)


# ---- applying a batch

def apply_pending(session: Session, limit: int = BATCH_LIMIT) -> dict[int, str]:
    """Apply up to `limit` queued confirmations, in queue order, in the caller's unit of
    work (under the applier's lock until it ends). Returns {payment id: outcome}."""
    session.flush()  # the caller's pending ORM changes first (e.g. a webhook's payment ref)
    _lock(session)
    connection = session.connection()
    gifts = [_gift(row) for row in connection.execute(_PENDING, {"limit": limit}).all()]
    if not gifts:
        return {}
    at = now()
    need_ids = sorted({g.need_id for g in gifts if g.need_id is not None and g.fund_id is None})
    needs = {row.id: _Need(*row) for row in connection.execute(_LOCK_NEEDS, {"ids": need_ids})
             } if need_ids else {}
    for need in needs.values():
        need.amount, need.funded = int(need.amount), int(need.funded)
    offers = [_offer(row) for row in connection.execute(_LOCK_OFFERS)] if needs else []
    counters = _counters(connection, offers, need_ids)
    batch = _Batch(session, at)
    for gift in gifts:
        if gift.payment_status not in OPEN or gift.donation_status != "pending":
            gift.outcome = "skipped"  # applied already by another path; nothing to do
        elif gift.fund_id is not None:
            batch.slow(gift, _confirm_fund_gift)
        elif not needs[gift.need_id].can_take(gift, at):
            batch.slow(gift, _settle_late)
        else:
            _confirm(batch, gift, needs[gift.need_id], offers, counters, at)
    batch.flush_ledger()
    _write(session, batch, gifts, needs, offers, counters, at)
    _expire_loaded(session)
    return {g.payment_id: g.outcome for g in gifts}


def _counters(connection, offers: list[_Offer], need_ids: list[int]) -> dict:
    """{(offer id, need id): [cap, used, new?]} of the offers with a per-need cap."""
    capped = [o.id for o in offers if o.per_need_cap is not None]
    if not capped:
        return {}
    return {(row.offer_id, row.need_id): [int(row.cap), int(row.used), False]
            for row in connection.execute(_COUNTERS, {"offers": capped, "needs": need_ids})}


class _Batch:
    """The ledger entries of the batch's gifts in queue order, written in runs; a gift that
    takes an ORM path (a fund gift, a late one) first writes the run before it, so the
    chain keeps the queue's order."""

    def __init__(self, session: Session, at: datetime) -> None:
        self.session, self.at = session, at
        self.entries: list[ledger.Entry] = []
        self.owners: list[tuple[_Gift, object]] = []  # per entry: (gift, None | share)
        self.confirmed: list[_Gift] = []

    def add(self, gift: _Gift, entry: ledger.Entry, share=None) -> None:
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

    def slow(self, gift: _Gift, path) -> None:
        self.flush_ledger()
        gift.outcome = path(self.session, gift)


def _confirm(batch: _Batch, gift: _Gift, need: _Need, offers: list[_Offer], counters: dict,
             at: datetime) -> None:
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


def _confirm_fund_gift(session: Session, gift: _Gift) -> str:
    """A gift to a community fund or a programme: any amount, never late."""
    payment = session.get(GiftPayment, gift.payment_id)
    donation = session.get(Donation, gift.donation_id)
    confirm_fund_donation(session, donation, payment_ref=payment.reference)
    payment.status, payment.confirmed_at, payment.confirmed_by = "confirmed", now(), gift.actor_id
    session.flush()
    session.info.setdefault("shanlian_batch_jobs", []).append((RECEIPT_JOB, [donation.id]))
    return "confirmed"


def _settle_late(session: Session, gift: _Gift) -> str:
    payment = session.get(GiftPayment, gift.payment_id)
    donation = session.get(Donation, gift.donation_id)
    return settle_late(session, payment, donation, session.get(Need, gift.need_id),
                       gift.actor_id)


# ---- writing a batch

_SQLITE_NEEDS = text(
    "UPDATE need SET funded = funded + :added, "
    "state = CASE WHEN :funded THEN 'funded' ELSE state END, "
    "hold_holder = CASE WHEN :release THEN NULL ELSE hold_holder END, "
    "hold_until = CASE WHEN :release THEN NULL ELSE hold_until END WHERE id = :id")
_SQLITE_DONATIONS = text(
    "UPDATE donation SET status = 'paid', ledger_seq = :seq, payment_ref = :ref "
    "WHERE id = :id AND status = 'pending'")
_SQLITE_PAYMENTS = text(
    "UPDATE gift_payment SET status = 'confirmed', confirmed_at = :at, confirmed_by = :actor "
    "WHERE id = :id")
_SQLITE_INTENTS = text(
    "UPDATE gift_confirmation SET outcome = :outcome, applied_at = :at "
    "WHERE id = :id AND outcome IS NULL")
_OFFER_USED = (update(OFFERS).where(OFFERS.c.id == bindparam("offer_id"))
               .values(used=OFFERS.c.used + bindparam("add")))
_SHARES = insert(MatchShare.__table__)
_ALLOCATIONS = insert(Allocation.__table__)
_JOBS = insert(OutboxJob.__table__).returning(OutboxJob.__table__.c.id)
# What the statements above write that the statement sniffer cannot read (core.data_version).
_WRITES = frozenset({("UPDATE", "need.funded"), ("UPDATE", "need.state"),
                     ("UPDATE", "need.hold_holder"), ("UPDATE", "need.hold_until"),
                     ("UPDATE", "donation.status"), ("UPDATE", "donation.ledger_seq"),
                     ("UPDATE", "donation.payment_ref"), ("UPDATE", "gift_payment.status"),
                     ("UPDATE", "gift_payment.confirmed_at"),
                     ("UPDATE", "gift_payment.confirmed_by")})


_PG_WRITE = text(
    "WITH nd AS (UPDATE need SET funded = need.funded + v.added, "
    "state = CASE WHEN v.funded THEN 'funded' ELSE need.state END, "
    "hold_holder = CASE WHEN v.release THEN NULL ELSE need.hold_holder END, "
    "hold_until = CASE WHEN v.release THEN NULL ELSE need.hold_until END "
    "FROM unnest(CAST(:n_ids AS integer[]), CAST(:n_added AS bigint[]), "
    "CAST(:n_funded AS boolean[]), CAST(:n_release AS boolean[])) AS v(id, added, funded, release) "
    "WHERE need.id = v.id RETURNING 1), "
    "ofr AS (UPDATE match_offer SET used = match_offer.used + v.added FROM unnest("
    "CAST(:o_ids AS integer[]), CAST(:o_added AS bigint[])) AS v(id, added) "
    "WHERE match_offer.id = v.id RETURNING 1), "
    "sh AS (INSERT INTO match_share (offer_id, donation_id, need_id, amount, ledger_seq, "
    "created_at) SELECT v.offer, v.donation, v.need, v.amount, v.seq, :at FROM unnest("
    "CAST(:s_offers AS integer[]), CAST(:s_donations AS integer[]), CAST(:s_needs AS integer[]), "
    "CAST(:s_amounts AS bigint[]), CAST(:s_seqs AS integer[])) "
    "AS v(offer, donation, need, amount, seq)), "
    "dn AS (UPDATE donation SET status = 'paid', ledger_seq = v.seq, payment_ref = v.ref "
    "FROM unnest(CAST(:d_ids AS integer[]), CAST(:d_seqs AS integer[]), CAST(:d_refs AS text[])) "
    "AS v(id, seq, ref) WHERE donation.id = v.id AND donation.status = 'pending' RETURNING 1), "
    "al AS (INSERT INTO allocation (need_id, donation_id, amount, status, ledger_seq, reason, "
    "why, created_at) SELECT v.need, v.donation, v.amount, 'executed', v.seq, '', '', :at "
    "FROM unnest(CAST(:a_needs AS integer[]), CAST(:d_ids AS integer[]), "
    "CAST(:a_amounts AS bigint[]), CAST(:d_seqs AS integer[])) AS v(need, donation, amount, seq)), "
    "pm AS (UPDATE gift_payment SET status = 'confirmed', confirmed_at = :at, "
    "confirmed_by = v.actor FROM unnest(CAST(:p_ids AS integer[]), CAST(:p_actors AS integer[])) "
    "AS v(id, actor) WHERE gift_payment.id = v.id RETURNING 1), "
    "nt AS (INSERT INTO notification (key, kind, user_id, email, locale, params, link, "
    "created_at) SELECT v.key, 'gift_confirmed', v.user_id, v.email, v.locale, "
    "CAST(v.params AS json), v.link, :at FROM unnest(CAST(:t_keys AS text[]), "
    "CAST(:t_users AS integer[]), CAST(:t_emails AS text[]), CAST(:t_locales AS text[]), "
    "CAST(:t_params AS text[]), CAST(:t_links AS text[])) "
    "AS v(key, user_id, email, locale, params, link) "
    "ON CONFLICT (key) DO NOTHING RETURNING id, email), "
    "jb AS (INSERT INTO job_outbox (func, args, created_at) "
    "SELECT v.func, CAST(v.args AS json), :at FROM unnest(CAST(:j_funcs AS text[]), "
    "CAST(:j_args AS text[])) AS v(func, args) "
    "UNION ALL SELECT :send_job, json_build_array(nt.id), :at FROM nt WHERE nt.email <> '' "
    "RETURNING id), "
    "ic AS (UPDATE gift_confirmation SET outcome = v.outcome, applied_at = :at FROM unnest("
    "CAST(:i_ids AS integer[]), CAST(:i_outcomes AS text[])) AS v(id, outcome) "
    "WHERE gift_confirmation.id = v.id AND gift_confirmation.outcome IS NULL RETURNING 1) "
    "SELECT (SELECT count(*) FROM nd), (SELECT count(*) FROM ofr), (SELECT count(*) FROM dn), "
    "(SELECT count(*) FROM pm), (SELECT count(*) FROM ic), ARRAY(SELECT id FROM jb)")
_PG_WRITES = _WRITES | {("INSERT", "match_share"), ("INSERT", "allocation"),
                        ("UPDATE", "match_offer.used")}


def _begin_write(session: Session, batch: _Batch, needs: dict[int, _Need]
                 ) -> tuple[Connection, list[_Gift], list[_Need]]:
    """What both writes start from: the connection, the confirmed gifts and the needs the
    batch changed, each need it funded recorded in the audit log."""
    changed = [n for n in needs.values() if n.added or n.release_hold]
    for need in changed:
        if need.became_funded:
            record(session, "need.funded", f"need:{need.code}")
    return session.connection(), batch.confirmed, changed


def _write_pg(session: Session, batch: _Batch, gifts: list[_Gift], needs: dict[int, _Need],
              offers: list[_Offer], counters: dict, at: datetime) -> None:
    """_write on PostgreSQL: every table the batch changes (but the ledger, written before,
    and the rare per-need counters) in ONE statement of data-modifying CTEs, each table's
    rows as arrays; it returns what each UPDATE matched, checked as _run does."""
    connection, confirmed, changed = _begin_write(session, batch, needs)
    moved = [o for o in offers if o.added]
    _write_counters(session, connection, counters)
    shares = [(offer, g, need, amount, seq)
              for g in confirmed for offer, need, amount, seq in g.shares]
    notices = _notice_rows(confirmed, needs, at)
    jobs = session.info.pop("shanlian_batch_jobs", [])
    jobs.extend((RECEIPT_JOB, [g.donation_id]) for g in confirmed)
    counts = connection.execute(_PG_WRITE, {
        "at": at, "send_job": SEND_JOB,
        "n_ids": [n.id for n in changed], "n_added": [n.added for n in changed],
        "n_funded": [n.became_funded for n in changed],
        "n_release": [n.release_hold for n in changed],
        "o_ids": [o.id for o in moved], "o_added": [o.added for o in moved],
        "s_offers": [x[0].id for x in shares], "s_donations": [x[1].donation_id for x in shares],
        "s_needs": [x[2].id for x in shares], "s_amounts": [x[3] for x in shares],
        "s_seqs": [x[4] for x in shares],
        "d_ids": [g.donation_id for g in confirmed], "d_seqs": [g.seq for g in confirmed],
        "d_refs": [g.reference for g in confirmed], "a_needs": [g.need_id for g in confirmed],
        "a_amounts": [g.amount for g in confirmed],
        "p_ids": [g.payment_id for g in confirmed], "p_actors": [g.actor_id for g in confirmed],
        "t_keys": [r["key"] for r in notices], "t_users": [r["user_id"] for r in notices],
        "t_emails": [r["email"] for r in notices], "t_locales": [r["locale"] for r in notices],
        "t_params": [json.dumps(r["params"], ensure_ascii=False) for r in notices],
        "t_links": [r["link"] for r in notices],
        "j_funcs": [f for f, _ in jobs], "j_args": [json.dumps(a) for _, a in jobs],
        "i_ids": [g.intent_id for g in gifts], "i_outcomes": [g.outcome for g in gifts],
    }).one()
    expected = (len(changed), len(moved), len(confirmed), len(confirmed), len(gifts))
    if tuple(counts[:5]) != expected:
        raise RuntimeError(f"batch apply: rows updated {tuple(counts[:5])}, not {expected}")
    session.info.setdefault("deferred_job_ids", []).extend(counts[5])  # core.outbox.defer
    note_writes(connection, _PG_WRITES)


def _write(session: Session, batch: _Batch, gifts: list[_Gift], needs: dict[int, _Need],
           offers: list[_Offer], counters: dict, at: datetime) -> None:
    """Write what the batch decided: one statement on PostgreSQL (_write_pg); on SQLite
    (development and the tests without a server) one executemany per table."""
    if is_postgres(session):
        return _write_pg(session, batch, gifts, needs, offers, counters, at)
    connection, confirmed, changed = _begin_write(session, batch, needs)
    _each(connection, _SQLITE_NEEDS, [{"id": n.id, "added": n.added, "funded": n.became_funded,
                                       "release": n.release_hold} for n in changed])
    moved = [{"offer_id": o.id, "add": o.added} for o in offers if o.added]
    if moved:
        connection.execute(_OFFER_USED, moved)
    _write_counters(session, connection, counters)
    shares = [{"offer_id": offer.id, "donation_id": g.donation_id, "need_id": need.id,
               "amount": amount, "ledger_seq": seq, "created_at": at}
              for g in confirmed for offer, need, amount, seq in g.shares]
    if shares:
        connection.execute(_SHARES, shares)
    if confirmed:
        _each(connection, _SQLITE_DONATIONS, [
            {"id": g.donation_id, "seq": g.seq, "ref": g.reference} for g in confirmed])
        connection.execute(_ALLOCATIONS, [
            {"need_id": g.need_id, "donation_id": g.donation_id, "amount": g.amount,
             "status": "executed", "ledger_seq": g.seq, "created_at": at} for g in confirmed])
        _each(connection, _SQLITE_PAYMENTS, [
            {"id": g.payment_id, "actor": g.actor_id, "at": at} for g in confirmed])
    jobs = session.info.pop("shanlian_batch_jobs", [])
    jobs.extend((RECEIPT_JOB, [g.donation_id]) for g in confirmed)
    jobs.extend((SEND_JOB, [notice]) for notice in _notices(session, confirmed, needs, at))
    if jobs:
        ids = connection.execute(_JOBS, [{"func": f, "args": a, "created_at": at}
                                         for f, a in jobs]).scalars().all()
        session.info.setdefault("deferred_job_ids", []).extend(ids)  # core.outbox.defer
    _each(connection, _SQLITE_INTENTS, [
        {"id": g.intent_id, "outcome": g.outcome, "at": at} for g in gifts])
    note_writes(connection, _WRITES)


def _each(connection, statement, rows: list[dict]) -> None:
    """executemany of an UPDATE that must match every row: one that did not is a broken
    assumption, and the whole batch rolls back."""
    if rows and connection.execute(statement, rows).rowcount not in (len(rows), -1):
        raise RuntimeError(f"batch apply: an UPDATE matched fewer than {len(rows)} rows")


def _write_counters(session: Session, connection, counters: dict) -> None:
    """Per-need counters of capped offers: created (a gift to a need the offer had not
    matched yet, even at zero) and raised; the CHECK holds the cap."""
    table = MatchOfferNeed.__table__
    new = [{"offer_id": o, "need_id": n, "cap": c[0], "used": c[1]}
           for (o, n), c in counters.items() if c[2]]
    if new:
        connection.execute(_insert(session)(table), new)
    raised = [{"o": o, "n": n, "u": c[1]} for (o, n), c in counters.items() if not c[2]]
    if raised:
        connection.execute(update(table).where(
            table.c.offer_id == bindparam("o"), table.c.need_id == bindparam("n"))
            .values(used=bindparam("u")), raised)


def _notice_rows(confirmed: list[_Gift], needs: dict[int, _Need], at: datetime) -> list[dict]:
    """Each confirmed donor's notice (donors.donor_notices.gift_confirmed), as rows."""
    rows = []
    for g in confirmed:
        if g.user_id is None and "@" not in g.email:
            continue  # a guest who left only a mobile number
        need = needs[g.need_id]
        rows.append({"key": f"gift_confirmed:donation:{g.donation_id}"[:120],
                     "kind": "gift_confirmed", "user_id": g.user_id, "email": g.email,
                     "locale": g.locale, "link": f"/needs/{need.code}", "created_at": at,
                     "params": {"need": need.title, "amount": shown(Money.fen(g.amount))}})
    return rows


def _notices(session: Session, confirmed: list[_Gift], needs: dict[int, _Need],
             at: datetime) -> list[int]:
    """The notices in one INSERT (SQLite); returns the ids of those to mail."""
    rows = _notice_rows(confirmed, needs, at)
    if not rows:
        return []
    table = Notification.__table__
    found = session.connection().execute(
        sqlite.insert(table).on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.id, table.c.email), rows).all()
    return [row_id for row_id, email in found if email]


def _expire_loaded(session: Session) -> None:
    """Objects the caller loaded (its payment, the need) were changed behind the ORM's back:
    read them again on next use. Pending changes were flushed first."""
    session.flush()
    for obj in list(session.identity_map.values()):
        if isinstance(obj, (GiftPayment, Donation, Need, MatchOffer, MatchOfferNeed,
                            CommunityFund, GiftConfirmation)):
            session.expire(obj)


# ---- who applies

def apply_queued(engine: Engine, limit: int = BATCH_LIMIT) -> int:
    """Apply everything queued, a batch per unit of work (the periodic job: intents a
    process committed and then died before applying). Returns how many were applied."""
    total = 0
    while True:
        with unit_of_work(engine) as session:
            applied = len(apply_pending(session, limit))
        total += applied
        if applied < limit:
            return total


_QUEUE_MANY = text(
    "INSERT INTO gift_confirmation (payment_id, actor_id, queued_at) "
    "SELECT p.id, v.actor, :at FROM unnest(CAST(:payments AS integer[]), "
    "CAST(:actors AS integer[])) AS v(payment, actor) JOIN gift_payment p ON p.id = v.payment "
    "WHERE p.status IN ('awaiting', 'expired') "
    "ON CONFLICT (payment_id) DO NOTHING RETURNING payment_id")


def _queue_many(session: Session, calls: list[tuple[int, int | None]]) -> set[int]:
    """Queue the confirmations of `calls` ((payment id, actor id); each payment once) in
    one statement; returns the payments queued now (not those queued already or no longer
    open)."""
    if is_postgres(session):
        return set(session.connection().execute(_QUEUE_MANY, {
            "payments": [p for p, _ in calls], "actors": [a for _, a in calls],
            "at": now()}).scalars())
    return {p for p, a in calls if _open(session, p) and queue(session, p, a)}


def _open(session: Session, payment_id: int) -> bool:
    return session.connection().execute(select(PAYMENTS.c.status).where(
        PAYMENTS.c.id == payment_id)).scalar() in OPEN


def confirm_batch(engine: Engine, calls: list[tuple[int, int | None]]) -> list:
    """Confirm many payments in ONE unit of work: queue them all, apply the queue under the
    applier's lock (with whatever else is queued, in queue order), commit. Returns, per
    call, its outcome, or a UserError for a payment already processed (or a second call
    for the same payment in `calls`)."""
    first: dict[int, int | None] = {}
    for payment_id, actor_id in calls:
        first.setdefault(payment_id, actor_id)
    with unit_of_work(engine) as session:
        # The intents first, then the lock: waiting on another transaction's intent for
        # the same payment (UNIQUE) while holding the lock could deadlock with it.
        mine = _queue_many(session, list(first.items()))
        outcomes = apply_pending(session, max(BATCH_LIMIT, len(first)))
        while not mine <= outcomes.keys() and (more := apply_pending(session)):
            outcomes.update(more)  # a long queue before ours: apply on, same unit of work
        # A payment queued by another caller and applied here has its outcome too; one
        # applied before is no longer open: refused below.
    seen: set[int] = set()
    results = []
    for payment_id, _actor in calls:
        outcome = outcomes.get(payment_id)
        if payment_id in seen or outcome not in OUTCOMES:
            results.append(UserError("这笔捐款已经处理过了"))
        else:
            results.append(outcome)
        seen.add(payment_id)
    return results


class _Combiner:
    """Flat combining inside one process: the threads confirming payments at the same time
    hand them to whichever of them is applying; it confirms them all with one unit of work
    (confirm_batch) and hands each its result. Across processes the applier's database
    lock serialises these batches, and each also applies intents committed elsewhere."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.waiting: list[tuple[object, int, int | None]] = []  # (ticket, payment, actor)
        self.results: dict[object, object] = {}
        self.leading = False

    def confirm(self, engine: Engine, payment_id: int, actor_id: int | None) -> str:
        ticket = object()
        with self.cond:
            self.waiting.append((ticket, payment_id, actor_id))
            while ticket not in self.results and self.leading:
                self.cond.wait()
            if ticket not in self.results:  # nobody is applying: lead this batch
                self.leading = True
                self._gather()
                batch, self.waiting = self.waiting, []
        if ticket not in self.results:
            try:
                done = confirm_batch(engine, [(p, a) for _, p, a in batch])
            except BaseException as exc:  # every caller of the batch sees why it failed
                done = [exc] * len(batch)
            with self.cond:
                self.results.update((t, r) for (t, _, _), r in zip(batch, done, strict=True))
                self.leading = False
                self.cond.notify_all()
        with self.cond:
            result = self.results.pop(ticket)
        if isinstance(result, BaseException):
            raise result
        return result


    def _gather(self, pause: float = 0.0002, most: int = 10) -> None:
        """Let the callers the last batch just answered come back with their next gift
        before this batch is cut: pause (releasing the lock) while the queue still grows,
        at most `most` times. Without it the batches alternate, big and small (whoever
        comes back first leads, alone)."""
        for _ in range(most):
            count = len(self.waiting)
            self.cond.wait(pause)
            if len(self.waiting) == count:
                return


_combiners: dict[str, _Combiner] = {}
_combiners_lock = threading.Lock()


def combined(engine: Engine, payment_id: int, actor_id: int | None = None) -> str:
    """Confirm one payment, combined with every other confirmation this process is making
    at the same moment (one unit of work for all of them). Returns its outcome."""
    key = engine.url.render_as_string(hide_password=False)
    with _combiners_lock:
        combiner = _combiners.setdefault(key, _Combiner())
    return combiner.confirm(engine, payment_id, actor_id)
