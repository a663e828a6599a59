"""The checkpoint job: sign the ledger's tree when it has grown.

Production runs it every minute through rq's cron scheduler (`rq cron jobs.cron`, the
`clock:` process of the Procfile), on the worker. Without Redis (`make run`), the web app
runs the same job from a small daemon thread (`start_clock`), in-process like every other
job there. Running it twice, or from two processes at once, is harmless: it signs only a
tree that grew, under the ledger's lock.
"""
from __future__ import annotations

import logging
import threading

from core.db import get_engine, unit_of_work
from funds import checkpoints

INTERVAL_SECONDS = 60
log = logging.getLogger(__name__)


def issue_checkpoint(database_url: str | None = None) -> dict:
    with unit_of_work(get_engine(database_url)) as session:
        row = checkpoints.issue(session, checkpoints.TlogConfig.from_env())
    if row is None:
        return {"issued": False}
    log.info("ledger checkpoint issued: size %s root %s", row.size, row.root)
    return {"issued": True, "size": row.size, "root": row.root}


_clock_started = threading.Event()
_stop = threading.Event()


def start_clock(database_url: str, enqueue, interval: float = INTERVAL_SECONDS) -> bool:
    """Run the job now and then every `interval` seconds in a daemon thread (once per
    process); `enqueue(func, *args)` puts it on the in-process queue."""
    if _clock_started.is_set():
        return False
    _clock_started.set()

    def tick() -> None:
        while True:
            try:
                enqueue(issue_checkpoint, database_url)
            except Exception:  # a failed tick must not stop the clock; the next one retries
                log.exception("ledger checkpoint job failed")
            if _stop.wait(interval):
                return

    threading.Thread(target=tick, name="ledger-checkpoint-clock", daemon=True).start()
    return True
