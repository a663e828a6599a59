"""Job functions: thin wrappers that open a unit of work and call one service."""
from __future__ import annotations

import logging

from core.db import get_engine, unit_of_work
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


def send_mail(to: str, subject: str, text: str, database_url: str | None = None) -> None:
    """One message through core.mail (SMTP or the development outbox). Deferred through
    the outbox, so a rolled-back request sends nothing."""
    from core import mail

    mail.send(to, subject, text)
