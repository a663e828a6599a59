"""One unit of work per request: opened on first use, committed before the response is
sent, rolled back if anything raised."""
from __future__ import annotations

from flask import Flask, current_app, g
from sqlmodel import Session

from core.db import get_engine


def session() -> Session:
    if "db" not in g:
        engine = get_engine(current_app.config["SHANLIAN"].database_url)
        g.db = Session(engine, expire_on_commit=False)
    return g.db


def init_app(app: Flask) -> None:
    @app.after_request
    def _commit(response):
        db = g.pop("db", None)
        if db is not None:
            try:
                if response.status_code < 400:
                    db.commit()
                else:
                    db.rollback()
            finally:
                db.close()
        return response

    @app.teardown_request
    def _rollback(_exc):
        db = g.pop("db", None)
        if db is not None:
            db.rollback()
            db.close()
