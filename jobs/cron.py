"""What rq's cron scheduler runs on a timetable: `rq cron jobs.cron --url $REDIS_URL`
(the Procfile's `cron:` process)."""
from rq import cron

from jobs.checkpoints import INTERVAL_SECONDS, issue_checkpoint
from jobs.queue import QUEUE_NAME
from jobs.tasks import reconcile_ledger

# Every hour at :17, the chain and the mirror columns against the ledger (an alarm if not).
cron.register(reconcile_ledger, QUEUE_NAME, cron="17 * * * *", name="reconcile_ledger")
# The signed ledger checkpoint, every minute while the ledger grows.
cron.register(issue_checkpoint, queue_name=QUEUE_NAME, interval=INTERVAL_SECONDS,
              job_timeout=300)
