"""URL converters. Every `<int:...>` route takes ids that fit the database's id columns
(INTEGER: 32 bits on PostgreSQL): a larger number in a URL is a 404 at routing, never an
overflow (a 500) in the query."""
from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1  # PostgreSQL INTEGER, the type of every id column


class BoundedIntConverter(IntegerConverter):
    """`int` with min 0 and max MAX_ID unless a route asks for narrower bounds."""

    def __init__(self, map, fixed_digits=0, min=0, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min,
                         max=MAX_ID if max is None else max, signed=signed)


def init_app(app: Flask) -> None:
    # Before any blueprint is registered: rules pick their converter when they are added.
    app.url_map.converters["int"] = BoundedIntConverter
