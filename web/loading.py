"""The row a URL names, or a 404: the loaders behind `@requires(..., load=...)` and the views.

Without `missing` an absent row is the plain 404 page (web.errors). With it, `missing()` is raised:
a `core.errors.NotFound` whose message the 404 page shows, in the visitor's language. It is
a callable, not an error, because building a UserError marks the request for rollback
(core.errors.raised_user_errors) even when the row is there; written as
`lambda: NotFound("…")` its message id is still extracted for the catalogs (babel.cfg).
Checks beyond existence (ownership, state) stay with the caller.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort
from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel import Session, select

from core.errors import NotFound

Row = TypeVar("Row")


def row_or_404(session: Session, model: type[Row], key,
               missing: Callable[[], NotFound] | None = None) -> Row:
    """The `model` row whose primary key is `key`."""
    return _found(session.get(model, key), missing)


def row_by_or_404(session: Session, column: InstrumentedAttribute, value,
                  missing: Callable[[], NotFound] | None = None):
    """The row whose unique `column` (e.g. Need.code) equals `value`."""
    return _found(session.exec(select(column.class_).where(column == value)).first(), missing)


def _found(row, missing):
    if row is None:
        if missing is not None:
            raise missing()
        abort(404)
    return row
