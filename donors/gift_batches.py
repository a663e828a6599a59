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

Here: the queue and who applies it. The reading and deciding: donors.gift_batch_decide;
the writing: donors.gift_batch_writes.
"""
from __future__ import annotations

import threading

from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core.clock import now
from core.db import is_postgres, unit_of_work
from core.errors import UserError
from donors.gift_batch_decide import OPEN, PAYMENTS, QUEUE, Batch, decide, lock_rows, read_pending
from donors.gift_batch_writes import dialect_insert, expire_loaded, write

APPLIER_LOCK_KEY = 7_004_232  # beside funds.ledger's chain lock, taken before the need rows
BATCH_LIMIT = 256
OUTCOMES = ("confirmed", "late", "redirected")


def queue(session: Session, payment_id: int, actor_id: int | None = None) -> bool:
    """Queue the confirmation of a payment in the caller's unit of work (one statement).
    False if it was already queued (by this or another transaction, which this waits for)."""
    stmt = (dialect_insert(session)(QUEUE).values(payment_id=payment_id, actor_id=actor_id,
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


# ---- applying a batch

def apply_pending(session: Session, limit: int = BATCH_LIMIT) -> dict[int, str]:
    """Apply up to `limit` queued confirmations, in queue order, in the caller's unit of
    work (under the applier's lock until it ends). Returns {payment id: outcome}."""
    session.flush()  # the caller's pending ORM changes first (e.g. a webhook's payment ref)
    _lock(session)
    connection = session.connection()
    gifts = read_pending(connection, limit)
    if not gifts:
        return {}
    at = now()
    needs, offers, counters = lock_rows(connection, gifts)
    batch = Batch(session, at)
    decide(batch, gifts, needs, offers, counters)
    batch.flush_ledger()
    write(session, batch, gifts, needs, offers, counters, at)
    expire_loaded(session)
    return {g.payment_id: g.outcome for g in gifts}


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
