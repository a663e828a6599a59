"""One unit of work per request, with one commit rule: the request commits only when its
view returned normally and no `UserError` was raised while it ran (even one the view caught
and answered with a 200 partial). Anything else — an exception, an error handler's page,
a refused input — rolls back. The HTTP status plays no part.

After the commit, the jobs the request deferred through the outbox are enqueued (and, with
no Redis, run in-process, on their own connection, after the request's lock is released).
"""
from __future__ import annotations

from flask import Flask, current_app, g, has_request_context, request
from sqlmodel import Session

from core import db as core_db
from core import outbox
from core.errors import raised_user_errors

# Public pages that only read (issue 14). On PostgreSQL their session runs in autocommit:
# no BEGIN and COMMIT round trips around the reads. Each statement still sees one committed
# snapshot, as it does inside a READ COMMITTED transaction (PostgreSQL's default), so the
# pages read exactly what they read before. A write in such a request is refused
# (core.data_version), so a page that starts writing is caught by its tests, not committed
# statement by statement.
READ_ONLY_BLUEPRINTS = ("public", "disclosure", "need_pages")
WRITING_ENDPOINTS = {"disclosure.export"}  # writes its cached file's record on a miss
_read_only_engines: dict[object, object] = {}


def _reads_only() -> bool:
    if not has_request_context():
        return False
    if request.method not in ("GET", "HEAD") or request.endpoint in WRITING_ENDPOINTS:
        return False
    if request.blueprint in READ_ONLY_BLUEPRINTS:
        return True
    if request.blueprint == "api":  # the public API; token-authenticated reads write last_used
        from web.api.blueprint import _private

        return request.endpoint is not None and not _private()
    return False


def _engine_for_request():
    engine = core_db.get_engine(current_app.config["SHANLIAN"].database_url)
    if engine.dialect.name != "postgresql" or not current_app.config.get("READ_ONLY_AUTOCOMMIT",
                                                                           True):
        return engine
    if not _reads_only():
        return engine
    # Keyed by the engine itself: an option engine's `.engine` is itself, so comparing it
    # with `engine` made a new option engine (and its event registrations) every request.
    reader = _read_only_engines.get(engine)
    if reader is None:
        reader = _read_only_engines[engine] = engine.execution_options(
            isolation_level="AUTOCOMMIT", **{core_db.READ_ONLY: True})
    return reader


def db_session() -> Session:
    """The request's session (named so it never shadows `flask.session`)."""
    if "db" not in g:
        g.db = Session(_engine_for_request(), expire_on_commit=False)
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
