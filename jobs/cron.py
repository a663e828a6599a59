"""rq's cron configuration (`rq cron --url $REDIS_URL jobs.cron`): the ledger checkpoint
every minute, enqueued on the worker's queue."""
from rq import cron

from jobs.checkpoints import INTERVAL_SECONDS, issue_checkpoint
from jobs.queue import QUEUE_NAME

cron.register(issue_checkpoint, queue_name=QUEUE_NAME, interval=INTERVAL_SECONDS,
              job_timeout=300)
