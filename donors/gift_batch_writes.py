"""A decided batch of gift confirmations written (donors.gift_batches): on PostgreSQL every
table the batch changes (but the ledger, written as it was decided) in one statement of
data-modifying CTEs, on SQLite one executemany per table; the per-need counters of capped
配捐 offers; the donors' notices and their mails. An UPDATE that matches fewer rows than
expected rolls the whole batch back."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session

from core.audit import record
from core.data_version import note_writes
from core.db import is_postgres
from core.errors import shown
from core.money import Money
from core.notify import SEND_JOB, Notification
from core.outbox import OutboxJob
from donors.gift_batch_decide import RECEIPT_JOB, Batch, Gift, LockedNeed, LockedOffer
from donors.giving_models import GiftConfirmation, GiftPayment
from donors.match_models import MatchOffer, MatchOfferNeed, MatchShare
from donors.models import Donation
from funds.models import Allocation, CommunityFund
from needs.models import Need


def dialect_insert(session: Session):
    """INSERT with ON CONFLICT, in the session's dialect."""
    return postgresql.insert if is_postgres(session) else sqlite.insert


OFFERS = MatchOffer.__table__

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


def _begin_write(session: Session, batch: Batch, needs: dict[int, LockedNeed]
                 ) -> tuple[Connection, list[Gift], list[LockedNeed]]:
    """What both writes start from: the connection, the confirmed gifts and the needs the
    batch changed, each need it funded recorded in the audit log."""
    changed = [n for n in needs.values() if n.added or n.release_hold]
    for need in changed:
        if need.became_funded:
            record(session, "need.funded", f"need:{need.code}")
    return session.connection(), batch.confirmed, changed


def _write_pg(session: Session, batch: Batch, gifts: list[Gift], needs: dict[int, LockedNeed],
              offers: list[LockedOffer], counters: dict, at: datetime) -> None:
    """write on PostgreSQL: every table the batch changes (but the ledger, written before,
    and the rare per-need counters) in ONE statement of data-modifying CTEs, each table's
    rows as arrays; it returns what each UPDATE matched, checked as _each does."""
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


def write(session: Session, batch: Batch, gifts: list[Gift], needs: dict[int, LockedNeed],
           offers: list[LockedOffer], counters: dict, at: datetime) -> None:
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
        connection.execute(dialect_insert(session)(table), new)
    raised = [{"o": o, "n": n, "u": c[1]} for (o, n), c in counters.items() if not c[2]]
    if raised:
        connection.execute(update(table).where(
            table.c.offer_id == bindparam("o"), table.c.need_id == bindparam("n"))
            .values(used=bindparam("u")), raised)


def _notice_rows(confirmed: list[Gift], needs: dict[int, LockedNeed], at: datetime) -> list[dict]:
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


def _notices(session: Session, confirmed: list[Gift], needs: dict[int, LockedNeed],
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


def expire_loaded(session: Session) -> None:
    """Objects the caller loaded (its payment, the need) were changed behind the ORM's back:
    read them again on next use. Pending changes were flushed first."""
    session.flush()
    for obj in list(session.identity_map.values()):
        if isinstance(obj, (GiftPayment, Donation, Need, MatchOffer, MatchOfferNeed,
                            CommunityFund, GiftConfirmation)):
            session.expire(obj)
