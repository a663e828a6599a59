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


# ---- h9: giving
def issue_receipt(donation_id: int, database_url: str | None = None) -> str | None:
    """Render and store a confirmed gift's receipt (deferred by donors.giving on confirmation;
    safe to run twice: the second run finds the stored one)."""
    with unit_of_work(get_engine(database_url)) as session:
        receipt = issue(session, donation_id)
        return receipt.number if receipt else None


def release_expired_holds(database_url: str | None = None) -> int:
    """The scheduled job (jobs/cron.py, every minute): lift lapsed holds on wishes."""
    with unit_of_work(get_engine(database_url)) as session:
        return release_expired(session)
