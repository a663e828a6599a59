"""Job functions: thin wrappers that open a unit of work and call one service."""
from __future__ import annotations

import logging

from core.db import get_engine, unit_of_work
from core.money import Money
from donors.giving import release_expired
from donors.giving_receipts import issue_receipt as issue
from funds import ledger
from readside.reconcile import first_mismatch

alarm = logging.getLogger("shanlian.alarm")


def verify_ledger(database_url: str | None = None) -> dict:
    """Recompute the whole chain; the result is stored on the job for the admin to read."""
    with unit_of_work(get_engine(database_url)) as session:
        verdict = ledger.verify(session)
    return {"ok": verdict.ok, "count": verdict.count, "bad_seq": verdict.bad_seq,
            "reason": verdict.reason}


def reconcile_ledger(database_url: str | None = None) -> dict:
    """The scheduled check (jobs/cron.py): the chain, then every mirror column against the
    ledger's sums. A problem raises an alarm: a CRITICAL line on `shanlian.alarm`."""
    with unit_of_work(get_engine(database_url)) as session:
        verdict = ledger.verify(session)
        mismatch = first_mismatch(session) if verdict.ok else None
    result = {"ok": verdict.ok and mismatch is None, "count": verdict.count,
              "bad_seq": verdict.bad_seq, "reason": verdict.reason,
              "mismatch": str(mismatch) if mismatch else None}
    if not result["ok"]:
        alarm.critical("ledger check failed: %s", result["mismatch"] or str(verdict),
                       extra={"check": "ledger", "result": result})
    return result


def run_matching(run_id: int, database_url: str | None = None) -> dict:
    """Carry out a queued matching run (donors/matching_runs.py): build, solve, validate,
    store, propose. Idempotent: a finished run is left as it is."""
    import core.models_registry  # noqa: F401  (a bare worker process knows every table)
    from donors import matching_runs
    from funds.models import MatchRun

    with unit_of_work(get_engine(database_url)) as session:
        run = session.get(MatchRun, run_id)
        run.status = "running"
        session.flush()
    try:
        with unit_of_work(get_engine(database_url)) as session:
            run = matching_runs.carry_out(session, session.get(MatchRun, run_id))
            return {"run": run.id, "status": run.status}
    except Exception:
        with unit_of_work(get_engine(database_url)) as session:
            session.get(MatchRun, run_id).status = "failed"
        raise


def nightly_matching(database_url: str | None = None) -> dict:
    """The scheduled run (jobs/cron.py): lapse overdue proposals, then queue a run."""
    from core import outbox
    from donors import matching_runs

    with unit_of_work(get_engine(database_url)) as session:
        lapsed = matching_runs.expire_proposals(session)
        run = matching_runs.start_run(session)
        outbox.defer(session, "jobs.tasks.run_matching", run.id)
        return {"run": run.id, "lapsed": lapsed}


def expire_proposals(database_url: str | None = None) -> int:
    from donors import matching_runs

    with unit_of_work(get_engine(database_url)) as session:
        return matching_runs.expire_proposals(session)


def purge_idempotency_keys(database_url: str | None = None) -> int:
    """Forget API Idempotency-Keys older than their 24 hours (core.idempotency)."""
    from core import idempotency

    with unit_of_work(get_engine(database_url)) as session:
        return idempotency.purge(session)


def mail_verification_decision(need_id: int, decision: str, reason: str = "",
                               database_url: str | None = None) -> int:
    """Tell the organisation's staff what the verifier decided (deferred through the outbox,
    so it runs after the decision committed). Returns how many people were mailed."""
    from needs.notifications import verification_mail

    with unit_of_work(get_engine(database_url)) as session:
        return verification_mail(session, need_id, decision, reason)
# ---- h9: giving
def issue_receipt(donation_id: int, database_url: str | None = None) -> str | None:
    """Render and store a confirmed gift's receipt (deferred by donors.giving on confirmation;
    safe to run twice: the second run finds the stored one)."""
    with unit_of_work(get_engine(database_url)) as session:
        receipt = issue(session, donation_id)
        return receipt.number if receipt else None


def sweep_outbox(database_url: str | None = None) -> int:
    """The scheduled job (jobs/cron.py, every minute): send jobs a dead process left pending
    between its commit and its send."""
    from core import outbox

    return outbox.sweep(get_engine(database_url))


def apply_queued_gifts(database_url: str | None = None) -> int:
    """The scheduled job (jobs/cron.py, every minute): apply gift confirmations a process
    committed and then died before applying (donors.gift_batches). Returns how many."""
    from donors.gift_batches import apply_queued

    return apply_queued(get_engine(database_url))


def release_expired_holds(database_url: str | None = None) -> int:
    """The scheduled job (jobs/cron.py, every minute): lift lapsed holds on wishes."""
    with unit_of_work(get_engine(database_url)) as session:
        return release_expired(session)
def send_mail(to: str, subject: str, text: str, database_url: str | None = None) -> None:
    """One message through core.mail (SMTP or the development outbox). Deferred through
    the outbox, so a rolled-back request sends nothing."""
    from core import mail

    mail.send(to, subject, text)
# ---- h-give1: refunds, redirects and donors' notifications
def open_gift_returns(need_id: int, database_url: str | None = None) -> int:
    """A need closed with money on it (deferred by needs.services.move): give enterprises'
    and funds' money back and ask each donor. Safe to run twice."""
    from donors.returns import open_returns
    from needs.models import Need

    with unit_of_work(get_engine(database_url)) as session:
        need = session.get(Need, need_id)
        return len(open_returns(session, need)) if need is not None else 0


def apply_return_defaults(database_url: str | None = None) -> int:
    """The daily job (jobs/cron.py): gifts undecided after 30 days go to the default."""
    from donors.returns import apply_due_defaults

    with unit_of_work(get_engine(database_url)) as session:
        return apply_due_defaults(session)


def expire_needs(database_url: str | None = None) -> int:
    """The daily job: verified needs past their deadline expire."""
    from needs.services import expire_overdue

    with unit_of_work(get_engine(database_url)) as session:
        return expire_overdue(session)


def notify_need_donors(need_id: int, kind: str, ref: str, amount_fen: int = 0, paid_to: str = "",
                       database_url: str | None = None) -> int:
    """A disbursement or evidence on a need: a notification to each of its donors."""
    from donors.donor_notices import need_event

    with unit_of_work(get_engine(database_url)) as session:
        return need_event(session, need_id, kind, ref, Money.fen(amount_fen), paid_to)


def send_notification(notification_id: int, database_url: str | None = None) -> bool:
    """Mail one notification once (core.notify.send locks the row; a re-run after a crash
    sends the same Message-ID, kept once)."""
    from core import notify
    from core.config import Settings
    from core.tokens import make_return_token

    settings = Settings.from_env()

    def link_for(row):
        # A guest has no account: their decision link is signed (core.tokens).
        if row.kind == "return_decision" and row.user_id is None:
            case_id = int(row.link.rsplit("/", 1)[-1])
            return f"/returns/{make_return_token(settings.secret_key, case_id)}"
        return row.link

    with unit_of_work(get_engine(database_url)) as session:
        return notify.send(session, notification_id, settings.site_url, link_for)


def refund_late_payment(payment_id: int, database_url: str | None = None) -> str:
    """Send back Stripe money that came after its wish went to someone else (deferred by
    donors.late_gifts). Idempotent: the row is locked and the refund keyed per payment; a
    refused refund raises, so rq tries again."""
    from donors.gateway import gateway_from_env
    from donors.late_gifts import refund_by_gateway

    with unit_of_work(get_engine(database_url)) as session:
        return refund_by_gateway(session, payment_id, gateway_from_env())
