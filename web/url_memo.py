"""Templates' `url_for`, remembered: a page of links built the same URLs on every request
(Werkzeug's builder is the dearest call left in a page render, issue 14).

A URL here depends only on the endpoint, its values, the blueprint (for ".name") and the
script root: the rules are fixed once the app has started and no `url_defaults` callback
exists. Anything else (`_external`, `_anchor`, … or an unhashable value) is built afresh.
The table is bounded: when full it starts again, which costs one rebuild per URL.
"""
from __future__ import annotations

from flask import Flask, has_request_context, request

MAX_URLS = 20_000


def init_app(app: Flask) -> None:
    build = app.url_for
    urls: dict[tuple, str] = {}

    def url_for(endpoint: str, **values) -> str:
        if not has_request_context() or any(name[0] == "_" for name in values):
            return build(endpoint, **values)
        try:
            key = (request.script_root, request.blueprint if endpoint[0] == "." else None,
                   endpoint, *sorted(values.items()))
            url = urls.get(key)
        except TypeError:  # an unhashable value
            return build(endpoint, **values)
        if url is None:
            url = build(endpoint, **values)
            if len(urls) >= MAX_URLS:
                urls.clear()
            urls[key] = url
        return url

    app.jinja_env.globals["url_for"] = url_for
