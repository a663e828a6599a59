"""rq queues: Redis when REDIS_URL is set (production, CI), otherwise fakeredis with jobs run
in-process at enqueue time, so `make run` needs no Redis.

Jobs are enqueued with retries: when a worker dies mid-job (killed, out of memory), the job
stays STARTED until its heartbeat expires; the registry clean-up that every
`rq worker --with-scheduler` runs then puts it back on the queue. Job functions must
therefore be safe to run twice (they open their own unit of work and commit once).
"""
from __future__ import annotations

from functools import lru_cache

from redis import Redis
from rq import Queue, Retry
from rq.job import Job
from rq.registry import StartedJobRegistry

from core import outbox
from core.config import Settings

QUEUE_NAME = "shanlian"
RETRIES = 3


@lru_cache(maxsize=4)
def _connection(url: str | None):
    if url:
        return Redis.from_url(url)
    import fakeredis

    return fakeredis.FakeRedis()


def get_queue(settings: Settings | None = None, name: str = QUEUE_NAME) -> Queue:
    settings = settings or Settings.from_env()
    connection = _connection(settings.redis_url)
    return Queue(name, connection=connection, is_async=bool(settings.redis_url))


def enqueue(queue: Queue, func, *args, **kwargs) -> Job:
    """Enqueue with retries, so a job whose worker died is run again."""
    return queue.enqueue(func, *args, retry=Retry(max=RETRIES, interval=[1, 10, 60]), **kwargs)


def recover_abandoned(queue: Queue, now: float | None = None) -> None:
    """Requeue jobs whose worker died (what the worker's own maintenance does every few
    minutes; an admin or a test can call it at once). `now` moves the cut-off forward."""
    StartedJobRegistry(queue=queue).cleanup(timestamp=now)


def outbox_sender(settings: Settings):
    """What core.outbox calls after a commit: enqueue one deferred job on this queue. The
    job gets the database it was deferred in as `database_url`."""
    def send(database_url: str, func: str, args: list) -> None:
        enqueue(get_queue(settings), func, *args, database_url=database_url)
    return send


def install_outbox_sender(settings: Settings | None = None) -> None:
    outbox.set_sender(outbox_sender(settings or Settings.from_env()))
