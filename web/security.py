"""Sign-in sessions, CSRF, rate limits and security headers, set up once for the app.

- Flask-Login keeps the signed-in user; the session cookie is HttpOnly, SameSite=Lax, and
  Secure unless the app runs in debug or testing.
- Flask-WTF's CSRFProtect checks a token on every POST/PUT/PATCH/DELETE (forms carry it as
  a hidden field, htmx as the X-CSRFToken header set in the base template); only the Stripe
  webhook, which Stripe signs itself, is exempt.
- Flask-Limiter: in memory by default, Redis when REDIS_URL is set.
- Headers: a Content-Security-Policy with no inline script or style, nosniff,
  frame-ancestors 'none', a strict Referrer-Policy.
"""
from __future__ import annotations

from flask import Flask, g
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect

from core.policy import Principal, principal_for
from core.users import User
from web.db import db_session

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    if not user_id.isascii() or not user_id.isdigit() or len(user_id) > 18:
        return None
    user = db_session().get(User, int(user_id))
    return user if user is not None and user.active else None


def principal() -> Principal | None:
    """The signed-in person with their memberships, loaded once per request."""
    if not current_user.is_authenticated:
        return None
    if "principal" not in g:
        g.principal = principal_for(db_session(), current_user.id)
    return g.principal


def init_app(app: Flask) -> None:
    settings = app.config["SHANLIAN"]
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax")
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.redis_url or "memory://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid for the session's life
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    @app.before_request
    def _secure_cookies():
        # Decided per request: tests and `flask run --debug` serve plain http.
        secure = not (app.debug or app.testing)
        app.config["SESSION_COOKIE_SECURE"] = secure
        app.config["REMEMBER_COOKIE_SECURE"] = secure

    @app.after_request
    def _headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    app.jinja_env.globals["principal"] = principal
