"""Rendered fragments kept by what they show, so a cache miss of a page does not re-render
the parts that did not change.

`{% call fragment(key...) %}...{% endcall %}` renders its body once per key and language and
then serves it from memory. The key must name everything the body shows (e.g. a need card's
code, title, state, funded and amount), so an entry can never be stale: changed data is a
different key. Old keys simply age out (least recently used first).
"""
from __future__ import annotations

import threading
from collections import OrderedDict

from flask import Flask, g, request
from flask_babel import get_locale
from markupsafe import Markup

MAX_FRAGMENTS = 20_000


def current_locale() -> str:
    """The request's locale as a string ("zh_CN", "en"), formatted once per request (and
    again under `force_locale`, which sets another locale object)."""
    ctx = g.get("_flask_babel")
    if ctx is None:
        return str(get_locale())
    locale = getattr(ctx, "babel_locale", None)
    memo = getattr(ctx, "shanlian_locale", None)
    if memo is not None and locale is not None and memo[0] is locale:
        return memo[1]
    if locale is None:
        locale = get_locale()
    ctx.shanlian_locale = (locale, str(locale))
    return ctx.shanlian_locale[1]


class FragmentCache:
    def __init__(self, max_entries: int = MAX_FRAGMENTS) -> None:
        self.max_entries = max_entries
        self.entries: OrderedDict[tuple, Markup] = OrderedDict()
        self.lock = threading.Lock()

    def render(self, key: tuple, caller) -> Markup:
        full = (current_locale(), request.script_root, *key)
        with self.lock:
            hit = self.entries.get(full)
            if hit is not None:
                self.entries.move_to_end(full)
                return hit
        html = Markup(caller())
        with self.lock:
            self.entries[full] = html
            while len(self.entries) > self.max_entries:
                self.entries.popitem(last=False)
        return html


def init_app(app: Flask) -> None:
    cache = app.extensions["fragments"] = FragmentCache()

    def fragment(*key, caller):
        return cache.render(key, caller)

    app.jinja_env.globals["fragment"] = fragment
