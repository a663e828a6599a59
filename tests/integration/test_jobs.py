"""Jobs run in-process without Redis (make run) and through a real rq worker with Redis."""
import uuid

from sqlalchemy import text

from core.config import Settings
from core.db import get_engine
from jobs.queue import get_queue
from jobs.tasks import verify_ledger
from tests.conftest import require_redis, tamper
from tests.integration.slow_jobs import BurstWorker
from tests.integration.test_ledger import _append_some


def test_without_redis_jobs_run_at_enqueue(clean_url):
    _append_some(clean_url, 3)
    queue = get_queue(Settings(database_url=clean_url, redis_url=None))
    job = queue.enqueue(verify_ledger, clean_url)
    assert job.is_finished
    assert job.return_value() == {"ok": True, "count": 3, "bad_seq": None, "reason": ""}


def test_with_redis_a_worker_runs_the_job_and_reports_a_broken_chain(clean_url):
    url = require_redis()
    _append_some(clean_url, 3)
    tamper(clean_url, "UPDATE ledger_posting SET amount = 1 WHERE seq = 2 AND position = 0")
    # A private queue name, so no other worker on this Redis takes the job.
    queue = get_queue(Settings(database_url=clean_url, redis_url=url),
                      name=f"test-{uuid.uuid4().hex[:8]}")
    assert queue.is_async
    job = queue.enqueue(verify_ledger, clean_url)
    assert not job.is_finished
    BurstWorker([queue], connection=queue.connection).work(burst=True)
    job.refresh()
    assert job.is_finished
    result = job.return_value()
    assert result["ok"] is False and result["bad_seq"] == 2


def test_a_job_whose_worker_dies_is_run_again():
    import os
    import signal
    import subprocess
    import sys
    import time

    from rq.job import JobStatus

    from jobs.queue import enqueue, recover_abandoned

    url = require_redis()
    name = f"test-{uuid.uuid4().hex[:8]}"
    queue = get_queue(Settings(redis_url=url), name=name)
    marker = f"shanlian-test-marker-{name}"
    from tests.integration.slow_jobs import hang_first_time

    job = enqueue(queue, hang_first_time, marker)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    worker = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "rq"), "worker", "--url", url, name],
        cwd=root, env=dict(os.environ, PYTHONPATH=root), start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while job.get_status(refresh=True) != JobStatus.STARTED:
            assert time.time() < deadline, "the worker never started the job"
            time.sleep(0.1)
        os.killpg(worker.pid, signal.SIGKILL)  # the worker and its work-horse die mid-job
        worker.wait(10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert job.get_status(refresh=True) == JobStatus.STARTED  # nobody finished it

    recover_abandoned(queue, now=time.time() + 3600)  # as if its heartbeat had expired
    # The dead worker may have taken the queue's scheduler lock (it lives 60 s after its
    # last refresh): let it expire now too, or no scheduler may enqueue the retry until then.
    from rq.scheduler import SCHEDULER_LOCKING_KEY_TEMPLATE
    queue.connection.delete(SCHEDULER_LOCKING_KEY_TEMPLATE % name)
    assert job.get_status(refresh=True) in (JobStatus.QUEUED, JobStatus.SCHEDULED)
    deadline = time.time() + 30
    while job.get_status(refresh=True) != JobStatus.FINISHED:
        assert time.time() < deadline, "the retry never ran"
        BurstWorker([queue], connection=queue.connection).work(burst=True, with_scheduler=True)
        time.sleep(0.2)
    assert job.return_value() == "done on retry"
    queue.connection.delete(marker)


def test_the_scheduled_reconcile_raises_an_alarm_on_a_false_mirror(clean_url, caplog):
    import logging

    from jobs.tasks import reconcile_ledger
    from tests.integration.helpers import committed, fund_with

    fund_code = committed(clean_url, lambda s: fund_with(s, 5_000).code)
    assert reconcile_ledger(clean_url)["ok"] is True
    with get_engine(clean_url).begin() as conn:
        conn.execute(text("UPDATE communityfund SET balance = balance + 100"))
    caplog.set_level(logging.INFO, logger="shanlian.alarm")
    result = reconcile_ledger(clean_url)
    assert result["ok"] is False and fund_code in result["mismatch"]
    [alarm] = [r for r in caplog.records if r.name == "shanlian.alarm"]
    assert alarm.levelno == logging.CRITICAL and fund_code in alarm.getMessage()


def test_the_cron_timetable_registers_the_reconcile():
    import fakeredis
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=fakeredis.FakeRedis())
    scheduler.load_config_from_file("jobs.cron")
    jobs = {j.func_name: j for j in scheduler.get_jobs()}
    assert jobs["jobs.tasks.reconcile_ledger"].cron == "17 * * * *"
    assert jobs["jobs.checkpoints.issue_checkpoint"].interval == 60
    assert jobs["jobs.tasks.nightly_matching"].cron == "30 2 * * *"
    assert jobs["jobs.tasks.expire_proposals"].cron == "47 * * * *"
    assert jobs["jobs.tasks.release_expired_holds"].cron == "* * * * *"
    assert jobs["jobs.tasks.purge_idempotency_keys"].cron == "53 * * * *"
    # h-give1: needs past their deadline expire; undecided gifts go to the default.
    assert jobs["jobs.tasks.expire_needs"].cron == "5 0 * * *"
    assert jobs["jobs.tasks.apply_return_defaults"].cron == "35 0 * * *"
