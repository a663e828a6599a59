"""The checkpoint job: sign the ledger's tree when it has grown.

Production runs it every minute through rq's cron scheduler (`rq cron jobs.cron`, the
`clock:` process of the Procfile), on the worker. Without Redis (`make run`), the web app
runs the same job from a small daemon thread (`start_clock`), in-process like every other
job there. Running it twice, or from two processes at once, is harmless: it signs only a
tree that grew, under the ledger's lock. The same thread runs the other every-minute jobs of
the timetable (`LOCAL_MINUTE_JOBS`), so a development site without Redis also applies the
gift confirmations a dead process left queued, releases lapsed holds and sends the outbox's
stragglers.
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


def local_minute_jobs() -> tuple:
    """The jobs jobs/cron.py runs every minute, for the in-process clock (imported late:
    jobs.tasks imports most of the services)."""
    from jobs.tasks import apply_queued_gifts, release_expired_holds, sweep_outbox

    return (issue_checkpoint, apply_queued_gifts, release_expired_holds, sweep_outbox)


def start_clock(database_url: str, enqueue, interval: float = INTERVAL_SECONDS,
                jobs: tuple | None = None) -> bool:
    """Run the jobs (the checkpoint alone by default) now and then every `interval` seconds
    in a daemon thread (once per process); `enqueue(func, *args)` puts each on the
    in-process queue."""
    if _clock_started.is_set():
        return False
    _clock_started.set()
    jobs = jobs or (issue_checkpoint,)

    def tick() -> None:
        while True:
            for job in jobs:
                try:
                    enqueue(job, database_url)
                except Exception:  # a failed run must not stop the clock; the next one retries
                    log.exception("in-process job %s failed", job.__name__)
            if _stop.wait(interval):
                return

    threading.Thread(target=tick, name="ledger-checkpoint-clock", daemon=True).start()
    return True
