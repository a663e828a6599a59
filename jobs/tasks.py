"""Job functions: thin wrappers that open a unit of work and call one service."""
from __future__ import annotations

from core.db import get_engine, unit_of_work
from funds import ledger


def verify_ledger(database_url: str | None = None) -> dict:
    """Recompute the whole chain; the result is stored on the job for the admin to read."""
    with unit_of_work(get_engine(database_url)) as session:
        verdict = ledger.verify(session)
    return {"ok": verdict.ok, "count": verdict.count, "bad_seq": verdict.bad_seq,
            "reason": verdict.reason}
