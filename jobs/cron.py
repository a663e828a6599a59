"""What rq's cron scheduler runs on a timetable: `rq cron jobs.cron --url $REDIS_URL`
(the Procfile's `cron:` process)."""
from rq import cron

from jobs.queue import QUEUE_NAME
from jobs.tasks import reconcile_ledger

# Every hour at :17, the chain and the mirror columns against the ledger (an alarm if not).
cron.register(reconcile_ledger, QUEUE_NAME, cron="17 * * * *", name="reconcile_ledger")
