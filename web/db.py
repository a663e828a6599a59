"""One unit of work per request, with one commit rule: the request commits only when its
view returned normally and no `UserError` was raised while it ran (even one the view caught
and answered with a 200 partial). Anything else — an exception, an error handler's page,
a refused input — rolls back. The HTTP status plays no part.

After the commit, the jobs the request deferred through the outbox are enqueued (and, with
no Redis, run in-process, on their own connection, after the request's lock is released).
"""
from __future__ import annotations

from flask import Flask, current_app, g
from sqlmodel import Session

from core import db as core_db
from core import outbox
from core.errors import raised_user_errors


def db_session() -> Session:
    """The request's session (named so it never shadows `flask.session`)."""
    if "db" not in g:
        engine = core_db.get_engine(current_app.config["SHANLIAN"].database_url)
        g.db = Session(engine, expire_on_commit=False)
        g.db_token = core_db.current_session.set(g.db)
    return g.db


def mark_view_returned() -> None:
    g.view_returned = True


def _close(commit: bool) -> None:
    db = g.pop("db", None)
    if db is None:
        return
    token = g.pop("db_token", None)
    deferred = outbox.deferred_ids(db)
    try:
        if commit:
            db.commit()
        else:
            db.rollback()
    finally:
        db.close()
        if token is not None:
            core_db.current_session.reset(token)
    if commit and deferred:
        outbox.dispatch(db.get_bind(), deferred)


def init_app(app: Flask) -> None:
    @app.before_request
    def _watch_user_errors():
        g.user_errors_token = raised_user_errors.set([])

    @app.after_request
    def _commit(response):
        seen = raised_user_errors.get() or []
        _close(commit=bool(g.get("view_returned")) and not seen)
        return response

    @app.teardown_request
    def _rollback(_exc):
        _close(commit=False)
        token = g.pop("user_errors_token", None)
        if token is not None:
            raised_user_errors.reset(token)
