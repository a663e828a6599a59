"""Import every table module so SQLModel.metadata is complete (Alembic, tests).

core imports nothing of the services at module level; this one module is the exception,
and only Alembic, the app factory and tests import it."""
import core.api_tokens  # noqa: F401
import core.audit  # noqa: F401
import core.data_version  # noqa: F401
import core.idempotency  # noqa: F401
import core.notify  # noqa: F401
import core.outbox  # noqa: F401
import core.users  # noqa: F401
import donors.applications  # noqa: F401
import donors.giving_models  # noqa: F401
import donors.match_models  # noqa: F401
import donors.models  # noqa: F401
import donors.return_models  # noqa: F401
import funds.ledger_aggregates  # noqa: F401
import funds.models  # noqa: F401
import funds.tlog_models  # noqa: F401
import needs.models  # noqa: F401
