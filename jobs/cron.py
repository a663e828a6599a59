"""What rq's cron scheduler runs on a timetable: `rq cron jobs.cron --url $REDIS_URL`
(the Procfile's `cron:` process)."""
from rq import cron

from jobs.queue import QUEUE_NAME
from jobs.tasks import reconcile_ledger

# Every hour at :17, the chain and the mirror columns against the ledger (an alarm if not).
cron.register(reconcile_ledger, QUEUE_NAME, cron="17 * * * *", name="reconcile_ledger")

# ---- h9: lapsed holds on claimed wishes and student-years, every minute.
from jobs.tasks import release_expired_holds  # noqa: E402

cron.register(release_expired_holds, QUEUE_NAME, cron="* * * * *", name="release_expired_holds")
