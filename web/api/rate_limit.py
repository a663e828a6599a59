"""The API's rate limit: one budget per live token, else per client address, for the whole
API (API_TOKEN_RATE_LIMIT / API_RATE_LIMIT), answered with a 429 problem and Retry-After.

Counted in Flask-Limiter's storage with its strategy (Redis when REDIS_URL is set, so every
worker shares the count; `limiter.reset()` clears it), but checked here with one `hit` per
request: Flask-Limiter's own per-request work for a shared blueprint limit (resolving and
filtering the limits, then window statistics again for its headers) cost more CPU than a
cached API answer (issue 12 point 6). A request within its budget gets X-RateLimit-Limit
and -Remaining (no -Reset: that would be a second storage call, a Redis round trip); a
refused one X-RateLimit-Limit, -Remaining (0), -Reset and Retry-After."""
from __future__ import annotations

import math
import time
from functools import lru_cache

from flask import Response, current_app, g
from limits import RateLimitItem, parse
from limits.strategies import FixedWindowRateLimiter

from web.api.auth import rate_limit, rate_limit_key
from web.api.problems import problem_response, too_many_requests
from web.security import limiter

SCOPE = "api"


@lru_cache(maxsize=32)
def _item(text: str) -> RateLimitItem:
    return parse(text)


def check() -> Response | None:
    """Count this request; a 429 problem when it is over its budget (None otherwise)."""
    if not limiter.enabled or not current_app.config.get("RATELIMIT_ENABLED", True):
        return None
    item = _item(rate_limit())
    key = rate_limit_key()
    strategy = limiter.limiter
    if isinstance(strategy, FixedWindowRateLimiter):  # Flask-Limiter's default: its hit, counted
        count = strategy.storage.incr(item.key_for(SCOPE, key), item.get_expiry())
        g.api_rate_limit = (item, max(0, item.amount - count))
        if count <= item.amount:
            return None
    elif strategy.hit(item, SCOPE, key):
        g.api_rate_limit = (item, None)
        return None
    reset = strategy.get_window_stats(item, SCOPE, key).reset_time
    retry = max(1, math.ceil(reset - time.time()))
    return problem_response(too_many_requests(), {
        "Retry-After": str(retry), "X-RateLimit-Limit": str(item.amount),
        "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(reset))})


def tag(response: Response) -> None:
    counted = g.get("api_rate_limit")
    if counted is not None:
        item, remaining = counted
        response.headers.setdefault("X-RateLimit-Limit", str(item.amount))
        if remaining is not None:
            response.headers.setdefault("X-RateLimit-Remaining", str(remaining))
