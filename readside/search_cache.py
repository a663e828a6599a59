"""The search index of public needs, one per database and process, rebuilt when anything
but money changes (the `site` data scope: money moving changes no searchable text, and keeps
a need public); see needs.search for the index itself."""
from __future__ import annotations

import threading

from sqlmodel import Session, select

from core.data_version import SITE, followed_version
from needs.models import PUBLIC_STATES, Need, Organisation, Programme
from needs.search import IndexCache, SearchIndex, SearchRow

_search_caches: dict[str, IndexCache] = {}
_search_caches_lock = threading.Lock()


def search_rows(session: Session) -> list[SearchRow]:
    """The public fields of every public need, for the search index."""
    rows = session.exec(
        select(Need.id, Need.title, Need.story, Programme.name, Organisation.name, Need.region,
               Need.category, Need.kind)
        .join(Organisation, Organisation.id == Need.organisation_id)
        .join(Programme, Programme.id == Need.programme_id, isouter=True)
        .where(Need.state.in_(PUBLIC_STATES)).order_by(Need.id)).all()
    return [SearchRow(i, t, s or "", p or "", o or "", r, c, k) for i, t, s, p, o, r, c, k in rows]


def search_index(session: Session) -> SearchIndex:
    """The search index for this session's database, rebuilt when the `site` scope moved."""
    engine = session.get_bind()
    key = str(engine.url)
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
