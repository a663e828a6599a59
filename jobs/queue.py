"""rq queues: Redis when REDIS_URL is set (production, CI), otherwise fakeredis with jobs run
in-process at enqueue time, so `make run` needs no Redis."""
from __future__ import annotations

from functools import lru_cache

from redis import Redis
from rq import Queue

from core.config import Settings

QUEUE_NAME = "shanlian"


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
