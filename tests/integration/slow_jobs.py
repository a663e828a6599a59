"""A job for the dying-worker test: the first run hangs (and is killed), a retry finishes."""
import time

from rq import SimpleWorker, get_current_job


def hang_first_time(marker: str) -> str:
    connection = get_current_job().connection
    if connection.set(marker, "started", nx=True):
        time.sleep(120)  # the worker is killed during this
    return "done on retry"


class BurstWorker(SimpleWorker):
    """An rq worker for tests, run with work(burst=True). rq's pub/sub thread (for commands
    such as "kill the horse") is left out: its teardown may wait out a 60 s sleep when it
    races the subscription, and a burst run in a test takes no commands."""

    def subscribe(self) -> None:
        pass
