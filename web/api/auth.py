"""`Authorization: Bearer <token>` on the API: who the request acts for, and the check each
authenticated operation declares (web.permissions sees it as "token:<action>").

The token is looked up once per request (the rate limit's key needs it before the view).
A missing, unknown or revoked token is a 401; a read token writing, or a role the token's
kind does not have for the object (core.policy), a 403. Token requests carry no cookie
session, so they are exempt from CSRF; a write that carries the site's session cookie and
no token is checked for CSRF as on the site (and then refused: the API takes no cookies)."""
from __future__ import annotations

import functools
import re
from collections.abc import Callable

from flask import current_app, g, request
from flask_limiter.util import get_remote_address

from core import api_tokens
from core.api_tokens import ApiToken, TokenRefused
from core.errors import UserError
from core.policy import POLICY, can
from web.api.problems import ApiProblem
from web.db import db_session
from web.permissions import ACCESS
from web.security import csrf

BEARER = re.compile(r"Bearer[ \t]+(\S+)\Z", re.IGNORECASE)
DEFAULT_RATE_LIMIT = "300/minute"  # per address
DEFAULT_TOKEN_RATE_LIMIT = "600/minute"  # per token


def presented_secret() -> str | None:
    match = BEARER.match(request.headers.get("Authorization", "").strip())
    return match.group(1) if match else None


def current_token() -> ApiToken | None:
    """The request's live token, or None (looked up at most once)."""
    if "api_token_looked_up" not in g:
        g.api_token_looked_up, g.api_token = True, None
        secret = presented_secret()
        if secret:
            try:
                g.api_token = api_tokens.find(db_session(), secret)
            except TokenRefused:
                pass
    return g.api_token


def rate_limit_key() -> str:
    """One budget per live token; everyone else by address."""
    token = current_token() if "Authorization" in request.headers else None
    return f"token:{token.id}" if token is not None else get_remote_address()


def rate_limit() -> str:
    config = current_app.config
    if "Authorization" in request.headers and current_token() is not None:
        return config.get("API_TOKEN_RATE_LIMIT", DEFAULT_TOKEN_RATE_LIMIT)
    return config.get("API_RATE_LIMIT", DEFAULT_RATE_LIMIT)


def unauthorized() -> ApiProblem:
    return ApiProblem(401, UserError("需要有效的 API 令牌"),
                      UserError("请在 Authorization 头中提供有效的 Bearer 令牌（令牌可能已被撤销）"))


def forbidden(detail: UserError) -> ApiProblem:
    return ApiProblem(403, UserError("无权进行此操作"), detail)


def _has_site_session() -> bool:
    cookies = request.cookies
    return current_app.config.get("SESSION_COOKIE_NAME", "session") in cookies \
        or "remember_token" in cookies


def token_required(action: str | None, *, write: bool = False,
                   load: Callable | None = None) -> Callable:
    """Only a live token (with write scope for a write) whose role may take `action` on the
    object `load(token, **view_args)` returns (passed to the view as `target`)."""
    if action is not None and action not in POLICY:
        raise ValueError(f"unknown action {action!r}: add it to core.policy.POLICY")

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if presented_secret() is None and _has_site_session() \
                    and current_app.config.get("WTF_CSRF_ENABLED", True):
                csrf.protect()
            token = current_token()
            if token is None:
                raise unauthorized()
            if write and token.scope != "write":
                raise forbidden(UserError("此令牌只有读取权限"))
            target = load(token, **kwargs) if load is not None else None
            if action is not None and not can(api_tokens.principal_of(token), action, target):
                raise forbidden(UserError("此令牌不能对该对象进行此操作"))
            api_tokens.touch(db_session(), token)
            if load is not None:
                kwargs["target"] = target
            return view(*args, **kwargs)
        setattr(wrapper, ACCESS, f"token:{action or 'any'}")
        csrf.exempt(wrapper)
        return wrapper
    return decorate
