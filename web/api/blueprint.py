"""The API blueprint and what every API response shares: problem details for every refusal,
the language (?lang, then Accept-Language), an ETag from the data version with 304 on a
match, and a rate limit per token (else per client address) answered with 429 and
Retry-After (web.api.rate_limit). Answers to token requests are private: no ETag, not
stored by caches."""
from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask import Blueprint, current_app, g, request
from flask_limiter.errors import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from core.data_version import LISTS, SITE, followed_version
from core.errors import NotFound, UserError
from web.api import rate_limit
from web.api.problems import ApiProblem, not_found, problem_response, too_many_requests
from web.db import db_session
from web.permissions import ACCESS
from web.security import limiter

bp = Blueprint("api", __name__, url_prefix="/api")
READS = ("GET", "HEAD")
UNTAGGED = frozenset({"api.docs", "api.openapi", "api.unknown"})  # not data: no data version


def _private() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return str(getattr(view, ACCESS, "")).startswith("token:")


def _etag() -> str:
    # Every write bumps the data version (core.data_version) and stamps `site` or `lists`
    # with it, so while their newest stamp is unchanged a URL answers the same body in the
    # same language. Read from the worker's scope clock (no query; another worker's write
    # is seen within PAGE_CACHE_TTL, as by the page cache), memoised for the request.
    if "api_etag" not in g:
        g.api_etag = f"v{followed_version(db_session(), SITE, LISTS)}-{_language()}"
    return g.api_etag


# One budget per token, or per client address without one, for the whole API (a shared
# limit, not one per route), checked before anything else the API does (web.api.rate_limit).
# Flask-Limiter's own hook has no limit of ours to apply here: it skips API requests.
bp.before_request(rate_limit.check)
limiter.request_filter(lambda: request.blueprint == "api")


def _language() -> str:
    """The request's language named as flask_babel's get_locale names it (zh_Hans_CN), from
    the app's selector without parsing a babel Locale per request: a 200 answer needs no
    other translation, and the parse was 3% of its CPU."""
    from web import select_locale  # the app's selector (web imports this module)

    return _locale_name(select_locale())


@lru_cache(maxsize=8)
def _locale_name(chosen) -> str:  # a Locale (or its code)
    return str(Locale.parse(chosen))


@bp.before_request
def _not_modified():
    if request.method not in READS or request.endpoint in UNTAGGED or _private():
        return None
    if request.if_none_match and request.if_none_match.contains_weak(_etag()):
        response = current_app.response_class(status=304)
        response.set_etag(_etag(), weak=True)
        return response
    return None


@bp.after_request
def _tag(response):
    rate_limit.tag(response)
    response.vary.add("Accept-Language")
    if _private():
        response.headers["Cache-Control"] = "private, no-store"
        return response
    if request.method in READS and response.status_code == 200 \
            and response.mimetype == "application/json" and request.endpoint not in UNTAGGED:
        response.set_etag(_etag(), weak=True)
        response.headers["Cache-Control"] = "no-cache"  # revalidate: 304 is cheap
    return response


@bp.errorhandler(ApiProblem)
def _problem(exc: ApiProblem):
    headers = {"WWW-Authenticate": 'Bearer realm="shanlian"'} if exc.status == 401 else None
    return problem_response(exc, headers)


@bp.errorhandler(NotFound)
def _not_found(exc: NotFound):
    return problem_response(not_found(exc))


@bp.errorhandler(RateLimitExceeded)
def _too_many(exc: RateLimitExceeded):
    retry = exc.retry_after if hasattr(exc, "retry_after") else None
    headers = {"Retry-After": str(int(retry) if retry else 60)}
    return problem_response(too_many_requests(), headers)


@bp.errorhandler(UserError)
def _refused(exc: UserError):
    return problem_response(ApiProblem(400, UserError("请求参数有误"), exc))


@bp.errorhandler(HTTPException)
def _http(exc: HTTPException):
    return problem_response(ApiProblem(exc.code or 500, UserError("请求无法处理"),
                                       UserError("请求无法处理")))
