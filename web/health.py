from flask import Blueprint, jsonify
from sqlalchemy import text

from web.db import db_session

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db_session().execute(text("SELECT 1"))
    except Exception as exc:  # the point of the probe is to report, not raise
        return jsonify(status="error", database=type(exc).__name__), 503
    return jsonify(status="ok", database="ok")
