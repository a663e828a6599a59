"""The transparency log on the web: the latest signed checkpoint, inclusion and consistency
proofs (shared/ledger-format.md, "Checkpoints and proofs"), and one transaction's page with
its inclusion proof. Never page-cached: a checkpoint can change while the ledger does not.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, jsonify, render_template, request
from flask_babel import get_locale

from core.errors import NotFound, UserError
from funds import checkpoints, transparency
from funds.checkpoints import TlogConfig
from web.db import db_session

bp = Blueprint("transparency", __name__, url_prefix="/disclosure")
SIZE = re.compile(r"^[1-9][0-9]{0,17}$")  # a positive decimal, no sign, no leading zero
SCRIPT = Path(__file__).parent / "static" / "verify_ledger.py"


def tlog_config() -> TlogConfig:
    """From the environment unless the app was given one (tests)."""
    config = current_app.config.get("TLOG")
    if config is None:
        config = current_app.config["TLOG"] = TlogConfig.from_env()
    return config


@bp.app_template_global()
def ledger_verifier_key() -> str:
    return str(tlog_config().signer().verifier)


@bp.app_template_global()
def published_verifier() -> str:
    return SCRIPT.read_text(encoding="utf-8")


def _text(message: str, status: int) -> Response:
    return Response(message + "\n", status=status, content_type="text/plain; charset=utf-8")


def _error(exc: UserError, status: int) -> Response:
    response = jsonify({"error": exc.message(str(get_locale()))})
    response.status_code = status
    return response


def _positive(name: str) -> int:
    raw = request.args.get(name, "")
    if not SIZE.match(raw):
        shown = repr(raw[:30])
        if raw:
            raise transparency.BadProofRequest("参数 %(name)s 应为正整数（收到 %(shown)s）",
                                               name=name, shown=shown)
        raise transparency.BadProofRequest("缺少参数 %(name)s（正整数）", name=name)
    return int(raw)


@bp.get("/checkpoint")
def checkpoint():
    latest = checkpoints.latest(db_session())
    if latest is None:
        return _text("尚未签发检查点，请一分钟后再试 / no checkpoint has been issued yet; "
                     "try again in a minute", 404)
    return Response(latest.note, content_type="text/plain; charset=utf-8",
                    headers={"Cache-Control": "no-cache"})


def _proof_json(prove: Callable[[], dict]) -> Response:
    """A proof as JSON, or its refusal as a JSON error: 404 when the ledger has no such
    transaction or tree size, 400 for a malformed request."""
    try:
        proof = prove()
    except NotFound as exc:
        return _error(exc, 404)
    except UserError as exc:
        return _error(exc, 400)
    return jsonify(proof)


@bp.get("/proof/inclusion")
def inclusion_proof():
    return _proof_json(lambda: transparency.inclusion(db_session(), _positive("seq"),
                                                      _positive("size")))


@bp.get("/proof/consistency")
def consistency_proof():
    return _proof_json(lambda: transparency.consistency(db_session(), _positive("from"),
                                                        _positive("to")))


@bp.get("/ledger/<int:seq>")
def transaction(seq: int):
    view = transparency.transaction_proof(db_session(), seq)  # NotFound → the 404 page
    return render_template("disclosure/transaction.html", view=view, at=txn_time(view))


def txn_time(view: transparency.TransactionProof) -> datetime:
    """The transaction's time (the ledger's UTC text), for showing in Beijing time."""
    return datetime.strptime(view.txn["at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def start_checkpoint_clock(app: Flask) -> None:
    """Without Redis, sign checkpoints and run the other every-minute jobs from this process
    (see jobs/checkpoints.py): started on the first request, so CLI commands and tests never
    start it."""
    settings = app.config["SHANLIAN"]
    if settings.redis_url:
        return

    @app.before_request
    def _start_once():
        if current_app.testing or not current_app.config.get("CHECKPOINT_CLOCK", True):
            return
        from jobs.checkpoints import local_minute_jobs, start_clock
        from jobs.queue import enqueue, get_queue

        queue = get_queue(settings)
        start_clock(settings.database_url, lambda func, *args: enqueue(queue, func, *args),
                    jobs=local_minute_jobs())


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    start_checkpoint_clock(app)
