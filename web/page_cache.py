"""A micro-cache for public pages, invalidated locally.

Public pages change only when the data they show changes, and with the date (overdue
flags). A rendered page is kept, per worker process, under its URL, language, htmx headers
and date, together with the version of the data scopes it depends on (core.data_version):
a need's own pages depend on `site` and `need:<code>`, every other page on `site` and
`lists`. So a gift to one need empties that need's pages and the lists and totals, and
leaves the other 100k need pages cached.

The worker follows the scopes incrementally: at most once per `PAGE_CACHE_TTL` seconds
(default 1 s) it reads the scopes stamped since the last read (one indexed query). A change
made through this worker is read on its next request; a change made elsewhere is seen within
the TTL. Only anonymous GETs of public endpoints with status 200 that set no cookie are kept
(a page with a CSRF token or a session belongs to one visitor); streamed downloads and
anything else pass through.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict, defaultdict

from flask import Flask, Response, current_app, g, request
from flask.globals import request_ctx
from flask_babel import get_locale

from core import clock
from core.data_version import (
    LISTS,
    SITE,
    changed_since,
    data_version,
    need_scope,
    scope_clock,
    scope_versions,
)
from web.db import db_session

CACHED_BLUEPRINTS = ("public", "disclosure", "need_pages")
NEVER_CACHED = {"disclosure.ledger_jsonl", "disclosure.export", "disclosure.evidence"}
# Pages about one need, keyed by its code: they show nothing of any other need.
NEED_PAGES = {"public.need", "disclosure.need_page", "need_pages.need_card"}
MAX_ENTRIES = 2000
MAX_BODY = 2 * 1024 * 1024
MAX_SCOPES = 50_000  # scopes remembered; beyond, start over from the clock (all pages miss once)


class ScopeClock:
    """The data scopes' stamps as this worker knows them (see the module's docstring): read
    incrementally, at most once per `PAGE_CACHE_TTL`. Used by the page cache and, through
    core.data_version.followed_version, by the in-process caches of query results and
    fragments, whether or not the page cache is on."""

    def __init__(self) -> None:
        self.floor: int | None = None  # the version of every scope not in `known`
        self.seen = 0  # the clock at the last read: every stamp up to it is in `known`
        self.known: dict[str, int] = {}
        self.checked_at = 0.0
        self.lock = threading.Lock()

    def version_of(self, scopes: tuple[str, ...]) -> int:
        """The newest change to any of `scopes`, reading new stamps at most once per TTL.
        The query runs outside the lock: a thread waiting for the database (SQLite's
        single writer) must never hold what another request needs to finish."""
        ttl = float(current_app.config.get("PAGE_CACHE_TTL", 1.0))
        now = time.monotonic()
        with self.lock:
            due = self.floor is None or now - self.checked_at >= ttl
            first, after = self.floor is None, self.seen
        if due:
            if first:
                # The hot scopes' exact stamps too: a cache keyed on `site` (the search
                # index) then sees the same version here as from scope_version elsewhere.
                session = db_session()
                clock, changed = data_version(session), scope_versions(session, SITE, LISTS)
            else:
                clock, changed = changed_since(db_session(), after)
            self._apply(first, after, clock, changed, now)
        with self.lock:
            return max(self.known.get(s, self.floor) for s in scopes)

    def _apply(self, first: bool, after: int, clock: int, changed: dict | None,
               now: float) -> None:
        """Merge one read of the stamps; reads from several threads may land in any order,
        so a stamp only ever moves forward."""
        with self.lock:
            self.checked_at = now
            if first or self.floor is None:
                if self.floor is None:
                    self.floor = self.seen = clock
                    self.known = {k: v for k, v in (changed or {}).items() if v}
                return
            if clock < after or len(self.known) + len(changed or {}) > MAX_SCOPES:
                # A database whose clock went back, or too much to remember: start over.
                self.floor, self.seen, self.known = clock, clock, {}
                return
            for scope, version in (changed or {}).items():
                if version > self.known.get(scope, 0):
                    self.known[scope] = version
            self.seen = max(self.seen, clock)

    def forget_version(self) -> None:
        """After a write through this worker, read the stamps again on the next request."""
        self.checked_at = 0.0


class PageCache:
    def __init__(self, clock: ScopeClock | None = None) -> None:
        self.pages: OrderedDict[tuple, tuple[int, bytes, list]] = OrderedDict()
        self.clock = clock or ScopeClock()
        self.lock = threading.Lock()
        self.hits = self.misses = 0
        self.by_endpoint: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # [hits, misses]

    def version_of(self, scopes: tuple[str, ...]) -> int:
        return self.clock.version_of(scopes)

    def forget_version(self) -> None:
        self.clock.forget_version()

    def get(self, key: tuple, version: int, endpoint: str) -> tuple[bytes, list] | None:
        with self.lock:
            entry = self.pages.get(key)
            counts = self.by_endpoint[endpoint]
            if entry is None or entry[0] != version:
                self.misses += 1
                counts[1] += 1
                return None
            self.pages.move_to_end(key)
            self.hits += 1
            counts[0] += 1
            return entry[1], entry[2]

    def put(self, key: tuple, version: int, body: bytes, headers: list) -> None:
        with self.lock:
            self.pages[key] = (version, body, headers)
            self.pages.move_to_end(key)
            while len(self.pages) > MAX_ENTRIES:
                self.pages.popitem(last=False)


def page_scopes(endpoint: str, view_args: dict | None) -> tuple[str, ...]:
    """The data scopes a public page depends on."""
    code = (view_args or {}).get("code")
    if endpoint in NEED_PAGES and code:
        return (SITE, need_scope(code))
    return (SITE, LISTS)


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
    clock = app.extensions["scope_clock"] = ScopeClock()
    cache = app.extensions["page_cache"] = PageCache(clock)

    @app.before_request
    def _follow_scopes():
        # In-process caches of results and fragments key on this worker's clock (no query
        # per request); the page cache too. Set first, whether or not pages are cached.
        g.scope_clock_token = scope_clock.set(clock.version_of)

    @app.teardown_request
    def _unfollow_scopes(_exc):
        token = g.pop("scope_clock_token", None)
        if token is not None:
            scope_clock.reset(token)

    @app.before_request
    def _serve_cached():
        if not _cacheable():
            return None
        g.page_cache_key = _key()
        # Read before rendering: a change committed meanwhile leaves this page stored under
        # the older version, so it is rendered again rather than served stale.
        version = cache.version_of(page_scopes(request.endpoint or "", request.view_args))
        hit = cache.get(g.page_cache_key, version, request.endpoint or "")
        if hit is None:
            g.page_cache_version = version
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
    with cache.lock:
        return {"hits": cache.hits, "misses": cache.misses, "entries": len(cache.pages),
                "by_endpoint": {e: list(c) for e, c in cache.by_endpoint.items()}}
