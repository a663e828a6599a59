"""One place that validates ids, codes and page numbers taken from a URL.

Every number from a path or a query string is read by `bounded_int`: ASCII digits only
(`str.isdigit()` accepts ², ³ and ①, which `int()` rejects) and at most a PostgreSQL
`integer`, so a huge id or an OFFSET can never overflow in SQL. Codes are short ASCII words
(PostgreSQL refuses a NUL byte in a query). A bad path segment is a 404, a bad query value a
400 with a message — never a 500.
"""
from __future__ import annotations

import re

from flask import Flask, request
from werkzeug.routing import BaseConverter, IntegerConverter, ValidationError

from core.errors import UserError

INT_MAX = 2_147_483_647  # PostgreSQL integer; ids and seq numbers fit in it
MAX_ID = INT_MAX
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")  # anchored: .match() checks the whole code
MAX_PAGE = 100_000
CODE = re.compile(r"[A-Za-z0-9_-]{1,40}")
_DIGITS = re.compile(r"[0-9]{1,10}")


def bounded_int(text: str, minimum: int = 1, maximum: int = INT_MAX) -> int | None:
    """`text` as an int in [minimum, maximum], or None when it is not one."""
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def is_code(text: str) -> bool:
    return bool(CODE.fullmatch(text))


def query_int(name: str, default: int | None = None, minimum: int = 1,
              maximum: int = INT_MAX) -> int | None:
    """A query-string number: absent or empty gives `default`; anything else that is not a
    number in range is refused with a 400 and a message in the visitor's language."""
    raw = request.args.get(name, "")
    if raw == "":
        return default
    value = bounded_int(raw, minimum, maximum)
    if value is None:
        raise UserError("参数 %(name)s 的值“%(value)s”无效", name=name, value=raw[:20])
    return value


def query_page(name: str = "page") -> int:
    return query_int(name, 1, 1, MAX_PAGE)


class IdConverter(BaseConverter):
    """`<id:name>`: a positive id that fits PostgreSQL's integer; anything else is a 404."""

    regex = r"[0-9]{1,10}"

    def to_python(self, value: str) -> int:
        number = bounded_int(value)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value) -> str:
        return str(int(value))


class CodeConverter(BaseConverter):
    """`<code:name>`: a need, fund, enterprise or programme code (ASCII word, ≤ 40)."""

    regex = r"[A-Za-z0-9_-]{1,40}"


class BoundedIntConverter(IntegerConverter):
    """`int` with min 0 and max INT_MAX unless a route asks for narrower bounds: a larger
    number in a URL is a 404 at routing, never an overflow (a 500) in the query."""

    def __init__(self, map, fixed_digits=0, min=0, max=INT_MAX, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min,
                         max=INT_MAX if max is None else max, signed=signed)


def init_app(app: Flask) -> None:
    # Before any blueprint is registered: rules pick their converter when they are added.
    app.url_map.converters["int"] = BoundedIntConverter
    app.url_map.converters["id"] = IdConverter
    app.url_map.converters["code"] = CodeConverter
