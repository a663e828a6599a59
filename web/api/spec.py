"""The OpenAPI 3.1 document, generated from the API's views and pydantic models by spectree.

spectree decorates plain Flask views (our app class is a Flask subclass of its own, which
APIFlask would replace), validates requests and responses against pydantic v2 models, and
writes OpenAPI 3.1. We serve the document ourselves (not spectree's pages, which load their
assets from a CDN) and say in it what spectree cannot: refusals are application/problem+json.
"""
from __future__ import annotations

import copy
from functools import lru_cache

from flask import Flask
from spectree import SpecTree

from web.api.problems import MEDIA_TYPE, refuse_invalid_request
from web.api.schemas import Problem

api = SpecTree("flask", title="善联 Shanlian API", version="1.0.0",
               # spectree skips routes under its own `path`; ours is served by web.api.views
               path="_spectree",
               page_templates={}, mode="strict", before=refuse_invalid_request,
               validation_error_status=400, validation_error_model=Problem,
               naming_strategy=lambda model: model.__name__,
               nested_naming_strategy=lambda _parent, child: child,
               description="Public, read-only open data of 善联 Shanlian: needs, programmes, "
                           "community funds, enterprises, totals and the ledger. Amounts are "
                           "integer fen. Errors are RFC 9457 problem details.")


@lru_cache(maxsize=1)
def _document(_app_key: int) -> dict:
    doc = copy.deepcopy(api.spec)
    for path in doc.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content") or {}
                if status[0] in "45" and "application/json" in content:
                    response["content"] = {MEDIA_TYPE: content["application/json"]}
    return doc


def openapi_document(app: Flask) -> dict:
    api.app = app  # spectree reads the routes from the current app's url_map
    return _document(id(app.url_map))
