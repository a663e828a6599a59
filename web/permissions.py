"""One permission check for every view, deny by default.

Every endpoint is either public (its blueprint or its name is in the short allow-list
below) or carries a check declared with `@requires(action, load=...)` / `@signed_in`.
A before_request hook refuses any other endpoint with 403, so a new route that forgot its
check is refused, not open; tests/integration/test_permissions.py walks `app.url_map` to
prove it. The rules themselves (role → action → scope) live in core.policy.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from flask import Flask, abort, current_app, redirect, request, url_for
from flask_login import current_user

from core.policy import POLICY, can
from web.security import principal

log = logging.getLogger(__name__)

PUBLIC_BLUEPRINTS = frozenset({"public", "disclosure", "need_pages", "health", "i18n",
                               "transparency"})
PUBLIC_ENDPOINTS = frozenset({"static", "accounts.sign_in", "accounts.sign_up",
                              "accounts.reset_request", "accounts.reset_password",
                              "accounts.accept_invitation", "stripe.webhook"})
# Public for reading only (GET/HEAD/OPTIONS); their write routes must declare a check.
PUBLIC_READ_BLUEPRINTS = frozenset({"api"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ACCESS = "_shanlian_access"


def _mark(view: Callable, access: str) -> Callable:
    setattr(view, ACCESS, access)
    return view


def public(view: Callable) -> Callable:
    """Open to everyone (use for a page outside the public blueprints)."""
    return _mark(view, "public")


def _refuse():
    if not current_user.is_authenticated:
        if request.headers.get("HX-Request"):
            abort(401)
        return redirect(url_for("accounts.sign_in", next=request.full_path))
    abort(403)


def signed_in(view: Callable) -> Callable:
    """Any signed-in person (their own account pages)."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            return _refuse()
        return view(*args, **kwargs)
    return _mark(wrapper, "signed_in")


def requires(action: str, load: Callable | None = None) -> Callable:
    """Only people whom core.policy allows `action` — on the object `load(**view_args)`
    returns, when given (it is passed to the view as `target`). An unknown object is a 404
    from the loader; a known one the person may not touch is a 403."""
    if action not in POLICY:
        raise ValueError(f"unknown action {action!r}: add it to core.policy.POLICY")

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return _refuse()
            target = load(**kwargs) if load is not None else None
            if not can(principal(), action, target):
                return _refuse()
            if load is not None:
                kwargs["target"] = target
            return view(*args, **kwargs)
        return _mark(wrapper, f"requires:{action}")
    return decorate


def access_of(app: Flask, endpoint: str, method: str = "GET") -> str | None:
    """How an endpoint is guarded: "public", "signed_in", "requires:<action>" or None."""
    blueprint = endpoint.rpartition(".")[0] if "." in endpoint else None
    if endpoint in PUBLIC_ENDPOINTS or blueprint in PUBLIC_BLUEPRINTS:
        return "public"
    view = app.view_functions.get(endpoint)
    declared = getattr(view, ACCESS, None)
    if declared is None and blueprint in PUBLIC_READ_BLUEPRINTS and method in READ_METHODS:
        return "public"
    return declared


def init_app(app: Flask) -> None:
    @app.before_request
    def _deny_by_default():
        endpoint = request.endpoint
        if endpoint is None:  # 404 / 405: nothing to guard
            return None
        if access_of(current_app, endpoint, request.method) is None:
            log.error("route without a permission check refused", extra={"endpoint": endpoint})
            abort(403)
        return None
