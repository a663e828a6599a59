"""The OpenAPI 3.1 document, generated from the API's views and pydantic models by spectree.

spectree decorates plain Flask views (our app class is a Flask subclass of its own, which
APIFlask would replace), validates requests and responses against pydantic v2 models, and
writes OpenAPI 3.1. We serve the document ourselves (not spectree's pages, which load their
assets from a CDN) and say in it what spectree cannot: refusals are application/problem+json.
The public reads use `read` below: the same document, the query checked here (see there).
"""
from __future__ import annotations

import copy
import functools
from functools import lru_cache

from flask import Flask, request
from pydantic import BaseModel, ValidationError
from spectree import SecurityScheme, SpecTree
from spectree.models import SecuritySchemeData
from spectree.plugins.base import Context
from spectree.utils import get_multidict_items

from web.api.problems import MEDIA_TYPE, refuse_invalid_request
from web.api.schemas import Problem

# Operations under /api/v1/me/ name this scheme: `Authorization: Bearer shl_…`, a token made
# on the account page of an organisation or enterprise (core.api_tokens).
BEARER = {"bearer": []}
SCHEMES = [SecurityScheme(name="bearer", data=SecuritySchemeData(
    type="http", scheme="bearer",
    description="An organisation's or enterprise's API token (read or write scope)"))]

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key", "in": "header", "required": False,
    "description": "Send the same key to retry safely: within 24 hours the same key with the "
                   "same request answers the first response and creates nothing more; with "
                   "a different request, 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"}}

api = SpecTree("flask", title="善联 Shanlian API", version="1.0.0",
               # spectree skips routes under its own `path`; ours is served by web.api.views
               path="_spectree",
               page_templates={}, mode="strict", before=refuse_invalid_request,
               validation_error_status=400, validation_error_model=Problem,
               security_schemes=SCHEMES,
               naming_strategy=lambda model: model.__name__,
               nested_naming_strategy=lambda _parent, child: child,
               description="Open data of 善联 Shanlian (public, read-only): needs, "
                           "programmes, community funds, enterprises, totals and the ledger; "
                           "and, with an organisation's or enterprise's bearer token, its own "
                           "needs, beneficiaries, evidence, pledges, proposals and report "
                           "(/api/v1/me/…). Every POST honours an Idempotency-Key header "
                           "(24 hours). Amounts are integer fen. Errors are RFC 9457 problem "
                           "details.")


def read(query: type[BaseModel], **documented):
    """`api.validate` for a public read that answers one of our models: the same OpenAPI
    operation, and the same check of the query string (a 400 problem naming each field), done
    here in one pydantic call. spectree's own check also copied every header and cookie of
    the request, and its response step re-dumped a model we build ourselves from typed
    columns; together a tenth of a cached-miss answer's CPU (issue 12 point 6)."""
    def decorate(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            try:
                parsed = query.model_validate(get_multidict_items(request.args, query))
            except ValidationError as invalid:
                refuse_invalid_request(request, None, invalid, None, None)
                raise  # not reached: the hook raises the problem
            request.context = Context(parsed, None, None, None, None)
            return view(*args, **kwargs)
        return api.validate(query=query, skip_validation=True, **documented)(checked)
    return decorate


@lru_cache(maxsize=1)
def _document(_app_key: int) -> dict:
    doc = copy.deepcopy(api.spec)
    for path in doc.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content") or {}
                if status[0] in "45" and "application/json" in content:
                    response["content"] = {MEDIA_TYPE: content["application/json"]}
    for path in doc.get("paths", {}).values():
        if "post" in path:
            path["post"].setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    return doc


def openapi_document(app: Flask) -> dict:
    api.app = app  # spectree reads the routes from the current app's url_map
    return _document(id(app.url_map))
