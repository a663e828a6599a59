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
from jobs.tasks import expire_proposals, nightly_matching  # noqa: E402

# Every night at 02:30, a matching run (after lapsing overdue proposals); hourly lapses too.
cron.register(nightly_matching, QUEUE_NAME, cron="30 2 * * *", name="nightly_matching")
cron.register(expire_proposals, QUEUE_NAME, cron="47 * * * *", name="expire_proposals")

# ---- h9: lapsed holds on claimed wishes and student-years, every minute.
from jobs.tasks import release_expired_holds  # noqa: E402

cron.register(release_expired_holds, QUEUE_NAME, cron="* * * * *", name="release_expired_holds")

# Gift confirmations a process queued but died before applying (donors.gift_batches).
from jobs.tasks import apply_queued_gifts  # noqa: E402

cron.register(apply_queued_gifts, QUEUE_NAME, cron="* * * * *", name="apply_queued_gifts")

# Jobs a process committed but died before sending (core.outbox), every minute.
from jobs.tasks import sweep_outbox  # noqa: E402

cron.register(sweep_outbox, QUEUE_NAME, cron="* * * * *", name="sweep_outbox")

# ---- hapi: API Idempotency-Keys past their 24 hours, hourly at :53.
from jobs.tasks import purge_idempotency_keys  # noqa: E402

cron.register(purge_idempotency_keys, QUEUE_NAME, cron="53 * * * *",
              name="purge_idempotency_keys")
# ---- h-give1: needs past their deadline expire (00:05 UTC); undecided gifts on closed
# needs go to the programme's general fund after 30 days (00:35 UTC).
from jobs.tasks import apply_return_defaults, expire_needs  # noqa: E402

cron.register(expire_needs, QUEUE_NAME, cron="5 0 * * *", name="expire_needs")
cron.register(apply_return_defaults, QUEUE_NAME, cron="35 0 * * *", name="apply_return_defaults")
