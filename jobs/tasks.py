"""Job functions: thin wrappers that open a unit of work and call one service."""
from __future__ import annotations

import logging

from core.db import get_engine, unit_of_work
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


def release_expired_holds(database_url: str | None = None) -> int:
    """The scheduled job (jobs/cron.py, every minute): lift lapsed holds on wishes."""
    with unit_of_work(get_engine(database_url)) as session:
        return release_expired(session)
def send_mail(to: str, subject: str, text: str, database_url: str | None = None) -> None:
    """One message through core.mail (SMTP or the development outbox). Deferred through
    the outbox, so a rolled-back request sends nothing."""
    from core import mail

    mail.send(to, subject, text)
