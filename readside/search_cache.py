"""The search of public needs, per database.

On PostgreSQL (unless SEARCH_BACKEND=memory): the `need_search` rows and pg_trgm
(needs.search_pg), current as soon as a change commits, nothing held per process.

On SQLite (or SEARCH_BACKEND=memory): an in-memory index per database and process, rebuilt
when anything but money changes (the `site` data scope: money moving changes no searchable
text, and keeps a need public); see needs.search for the index itself.

Either way `search_index(session).search_ids(q, limit, session)` answers, and its `built_at`
changes whenever its answers may have."""
from __future__ import annotations

import os
import threading

from sqlmodel import Session, select

from core.data_version import SITE, followed_version
from needs.models import PUBLIC_STATES, Need, Organisation, Programme
from needs.search import IndexCache, SearchIndex, SearchRow
from needs.search_pg import PgSearch

_search_caches: dict[str, IndexCache] = {}
_search_caches_lock = threading.Lock()
_pg_searches: dict[str, PgSearch] = {}
BACKENDS = ("auto", "memory", "postgres")


def backend(session: Session) -> str:
    """"postgres" or "memory": SEARCH_BACKEND (auto, memory or postgres; read on each call)
    with auto meaning postgres on PostgreSQL, memory on SQLite."""
    chosen = os.environ.get("SEARCH_BACKEND", "auto").strip().lower() or "auto"
    if chosen not in BACKENDS:
        raise ValueError(f"SEARCH_BACKEND must be one of {', '.join(BACKENDS)}, not {chosen!r}")
    postgres = session.get_bind().dialect.name == "postgresql"
    if chosen == "postgres" and not postgres:
        raise ValueError("SEARCH_BACKEND=postgres needs a PostgreSQL database")
    return "postgres" if chosen == "postgres" or (chosen == "auto" and postgres) else "memory"


def search_rows(session: Session) -> list[SearchRow]:
    """The public fields of every public need, for the search index."""
    rows = session.exec(
        select(Need.id, Need.title, Need.story, Programme.name, Organisation.name, Need.region,
               Need.category, Need.kind)
        .join(Organisation, Organisation.id == Need.organisation_id)
        .join(Programme, Programme.id == Need.programme_id, isouter=True)
        .where(Need.state.in_(PUBLIC_STATES)).order_by(Need.id)).all()
    return [SearchRow(i, t, s or "", p or "", o or "", r, c, k) for i, t, s, p, o, r, c, k in rows]


def search_index(session: Session) -> SearchIndex | PgSearch:
    """The search for this session's database: on PostgreSQL a `PgSearch` stamped with the
    `site` version (one object per version, so callers may cache its answers under
    `(id(index), index.built_at)`); else the in-memory index, rebuilt when `site` moved."""
    engine = session.get_bind()
    key = str(engine.url)
    if backend(session) == "postgres":
        version = followed_version(session, SITE)
        current = _pg_searches.get(key)
        if current is None or current.built_at != version:
            current = _pg_searches[key] = PgSearch(version)
        return current
    with _search_caches_lock:
        cache = _search_caches.setdefault(key, IndexCache())

    def in_background() -> list[SearchRow]:
        with Session(engine) as own:
            return search_rows(own)

    return cache.get(lambda: followed_version(session, SITE), lambda: search_rows(session),
                     in_background)


def invalidate_search() -> None:
    """Make the next search rebuild its index (call after editing a need's public text)."""
    with _search_caches_lock:
        caches = list(_search_caches.values())
    for cache in caches:
        cache.invalidate()
