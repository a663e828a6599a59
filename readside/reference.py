"""Reference rows every public page shows and money never changes: programmes,
organisations, the names of ledger accounts. Kept per process and database, valid while the
`site` data scope holds (any change other than money moving stamps `site`), so a page reads
them without a query (issue 14).

The cached rows are copies, detached from any session (never lazy-loading, safe to share
between threads); callers only read them.
"""
from __future__ import annotations

from sqlmodel import Session, select

from core.data_version import SITE, followed_version
from needs.models import Organisation, Programme
from readside.result_cache import ResultCache

_programmes = ResultCache(64)
_organisations = ResultCache(20_000)


def _url(session: Session) -> str:
    return str(session.get_bind().url)


def _copy(row):
    return type(row).model_validate(row.model_dump())


def programmes(session: Session) -> list[Programme]:
    """Every programme, in id order."""
    return _programmes.get(_url(session), followed_version(session, SITE), lambda: [
        _copy(p) for p in session.exec(select(Programme).order_by(Programme.id)).all()])


def programme(session: Session, programme_id: int | None) -> Programme | None:
    if programme_id is None:
        return None
    return next((p for p in programmes(session) if p.id == programme_id), None)


def programme_names(session: Session) -> dict[int, str]:
    return {p.id: p.name for p in programmes(session)}


def programme_codes(session: Session) -> dict[int, str]:
    return {p.id: p.code for p in programmes(session)}


def organisation(session: Session, organisation_id: int) -> Organisation | None:
    def load():
        row = session.get(Organisation, organisation_id)
        return None if row is None else _copy(row)

    return _organisations.get((_url(session), organisation_id),
                              followed_version(session, SITE), load)


def clear_cache() -> None:
    _programmes.clear()
    _organisations.clear()
