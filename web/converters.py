"""URL converters. Every `<int:...>` route takes ids that fit the database's BIGINT: a
larger number in a URL is a 404 at routing, never an overflow (a 500) in the query."""
from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

MAX_ID = 2**63 - 1  # PostgreSQL BIGINT and SQLite INTEGER


class BoundedIntConverter(IntegerConverter):
    """`int` with min 0 and max MAX_ID unless a route asks for narrower bounds."""

    def __init__(self, map, fixed_digits=0, min=0, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min,
                         max=MAX_ID if max is None else max, signed=signed)


def init_app(app: Flask) -> None:
    # Before any blueprint is registered: rules pick their converter when they are added.
    app.url_map.converters["int"] = BoundedIntConverter
