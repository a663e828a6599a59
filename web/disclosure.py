"""阳光慈善: the public ledger download."""
from flask import Blueprint, Response, current_app, stream_with_context

from core.db import get_engine, unit_of_work
from funds import ledger

bp = Blueprint("disclosure", __name__, url_prefix="/disclosure")


@bp.get("/ledger.jsonl")
def ledger_jsonl():
    engine = get_engine(current_app.config["SHANLIAN"].database_url)

    def lines():
        # Its own unit of work: the stream outlives the request's session.
        with unit_of_work(engine) as db:
            yield from ledger.export_lines(db)

    return Response(stream_with_context(lines()), mimetype="application/x-ndjson",
                    headers={"Content-Disposition": "attachment; filename=shanlian-ledger.jsonl"})
