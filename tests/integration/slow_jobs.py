"""A job for the dying-worker test: the first run hangs (and is killed), a retry finishes."""
import time

from rq import get_current_job


def hang_first_time(marker: str) -> str:
    connection = get_current_job().connection
    if connection.set(marker, "started", nx=True):
        time.sleep(120)  # the worker is killed during this
    return "done on retry"
