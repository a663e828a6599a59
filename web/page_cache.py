"""A micro-cache for public pages.

Public pages change only when the data changes (any committed write bumps the one data
version, core.data_version) and with the date (overdue flags). So a rendered page is kept,
per worker process, under its URL, language, htmx headers and date, together with the data
version it was rendered at. A request checks the
version at most once per `PAGE_CACHE_TTL` seconds (default 1 s); until the version moves, the
page is served from memory. A change made through this worker bumps the version at once; a
change made elsewhere is visible within the TTL. Only anonymous GETs of public endpoints
with status 200 that set no cookie are kept (a page with a CSRF token or a session belongs to
one visitor); streamed downloads and anything else pass through.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict

from flask import Flask, Response, current_app, g, request
from flask.globals import request_ctx
from flask_babel import get_locale

from core import clock
from core.data_version import data_version
from web.db import db_session

CACHED_BLUEPRINTS = ("public", "disclosure", "need_pages")
NEVER_CACHED = {"disclosure.ledger_jsonl", "disclosure.export", "disclosure.evidence"}
MAX_ENTRIES = 2000
MAX_BODY = 2 * 1024 * 1024



class PageCache:
    def __init__(self) -> None:
        self.pages: OrderedDict[tuple, tuple[tuple, bytes, list]] = OrderedDict()
        self.version: int | None = None
        self.checked_at = 0.0
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def current_version(self) -> int:
        now = time.monotonic()
        ttl = float(current_app.config.get("PAGE_CACHE_TTL", 1.0))
        if self.version is None or now - self.checked_at >= ttl:
            self.version, self.checked_at = data_version(db_session()), now
        return self.version

    def forget_version(self) -> None:
        """After a write through this worker, read the version again on the next request."""
        self.version = None

    def get(self, key: tuple) -> tuple[bytes, list] | None:
        version = self.current_version()
        with self.lock:
            entry = self.pages.get(key)
            if entry is None or entry[0] != version:
                self.misses += 1
                return None
            self.pages.move_to_end(key)
            self.hits += 1
            return entry[1], entry[2]

    def put(self, key: tuple, version: int, body: bytes, headers: list) -> None:
        with self.lock:
            self.pages[key] = (version, body, headers)
            self.pages.move_to_end(key)
            while len(self.pages) > MAX_ENTRIES:
                self.pages.popitem(last=False)


def _cacheable() -> bool:
    endpoint = request.endpoint or ""
    return (current_app.config.get("PAGE_CACHE", True)
            and request.method == "GET"
            and request.blueprint in CACHED_BLUEPRINTS
            and endpoint not in NEVER_CACHED
            and "session" not in request.cookies)


def _key() -> tuple:
    return (request.full_path, str(get_locale()), request.headers.get("HX-Request"),
            request.headers.get("HX-Target"), request.headers.get("HX-History-Restore-Request"),
            clock.today().isoformat(), request.host)


def _session_used() -> bool:
    """Whether the page depends on this visitor's session: it wrote it (a CSRF token), or
    read one that holds something. Reading an empty session (the header asking Flask-Login
    whether anyone is signed in, for a visitor without a cookie) gives every such visitor
    the same page. Looked up on the request context: touching `flask.session` itself would
    mark it used."""
    opened = getattr(request_ctx._get_current_object(), "_session", None)
    return bool(opened is not None and (opened.modified or (opened.accessed and len(opened))))


def init_app(app: Flask) -> None:
    cache = app.extensions["page_cache"] = PageCache()

    @app.before_request
    def _serve_cached():
        if not _cacheable():
            return None
        g.page_cache_key = _key()
        hit = cache.get(g.page_cache_key)
        if hit is None:
            g.page_cache_version = cache.version
            return None
        body, headers = hit
        g.page_cache_hit = True
        return Response(body, status=200, headers=headers)

    @app.after_request
    def _store(response: Response) -> Response:
        if request.method != "GET":
            cache.forget_version()
            return response
        key = g.get("page_cache_key")
        # A response that used the session (a CSRF token, a signed-in user) or sets a cookie
        # belongs to one visitor. (Flask writes the session cookie after this hook runs.)
        if (key is None or g.get("page_cache_hit") or response.status_code != 200
                or response.is_streamed or response.direct_passthrough
                or _session_used() or "Set-Cookie" in response.headers):
            return response
        body = response.get_data()
        if len(body) <= MAX_BODY:
            headers = [(k, v) for k, v in response.headers.items()
                       if k.lower() != "content-length"]
            cache.put(key, g.page_cache_version, body, headers)
        return response


def stats() -> dict:
    cache: PageCache = current_app.extensions["page_cache"]
    return {"hits": cache.hits, "misses": cache.misses, "entries": len(cache.pages)}
