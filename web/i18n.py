"""The language switch: GET /lang/<code> remembers the choice in a cookie and goes back.

Only a path on this site is followed back (from ?next= or the Referer); anything else, an
absolute URL to another host or a protocol-relative //host, falls back to the home page,
so the switch can never be used as an open redirect.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, request, url_for
from jinja2 import pass_context
from markupsafe import Markup

from core.errors import UserError

bp = Blueprint("i18n", __name__)

LANGUAGES = {"zh_CN": "中文", "en": "English"}
COOKIE_AGE = 365 * 24 * 3600


def safe_target(candidate: str | None) -> str | None:
    """`candidate` as a same-site path (with its query), or None if it is not one."""
    if not candidate or "\\" in candidate or any(ord(c) < 32 for c in candidate):
        return None
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        own = urlsplit(request.host_url)
        if parts.scheme not in ("http", "https") or parts.netloc != own.netloc:
            return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        return None
    if path.startswith("/lang/"):
        return None
    return path + (f"?{_without_lang(parts.query)}" if _without_lang(parts.query) else "")


def _without_lang(query: str) -> str:
    """Drop a ?lang= that would otherwise override the cookie just set."""
    return "&".join(p for p in query.split("&") if p and not p.startswith("lang="))


@bp.get("/lang/<code>")
def switch(code: str):
    if code not in LANGUAGES:
        raise UserError("不支持的语言“%(code)s”", code=code)
    target = (safe_target(request.args.get("next")) or safe_target(request.referrer)
              or url_for("public.home"))
    response = redirect(target, code=303)
    response.set_cookie("lang", code, max_age=COOKIE_AGE, samesite="Lax", httponly=True,
                        secure=request.is_secure)
    response.headers["Vary"] = "Cookie"
    return response


@bp.after_app_request
def _vary_on_language(response):
    """Every page's language may come from the lang cookie: caches must key on it."""
    response.vary.add("Cookie")
    return response


# ---- template gettext without the per-call lookups (issue 14) -------------------------
# Flask-Babel's template `_()` finds the domain, the locale (formatting it as a string) and
# the catalogue on every call, and Jinja's newstyle wrapper then formats the result as
# Markup with `%`: a page with 80 messages spent more time there than in its queries. Here
# a call reads the request's locale (set once per request by Flask-Babel, and by
# `force_locale`) and looks the finished message up in a table per locale and escaping
# mode; a message not seen yet is translated by Flask-Babel and formatted by Jinja's own
# rule once, then remembered. The catalogues are compiled files loaded once per process,
# so a remembered translation never goes stale. Calls with variables take Jinja's path.
_translated: dict[tuple[str, bool], dict[str, str]] = {}


def _translate(string: str) -> str:
    from flask_babel import get_translations

    return get_translations().ugettext(string)


def _finished(string: str, autoescape: bool) -> str:
    from web.fragments import current_locale

    key = (current_locale(), autoescape)
    table = _translated.get(key)
    if table is None:
        table = _translated.setdefault(key, {})
    try:
        return table[string]
    except KeyError:
        value = _translate(string)
        # Jinja's rule: always a format string, even without variables ("%%" -> "%").
        value = (Markup(value) if autoescape else value) % {}
        table[string] = value
        return value


@pass_context
def _template_newstyle_gettext(context, string: str, **variables):
    """Jinja's newstyle `gettext` (autoescaped, `%(name)s` variables), remembered."""
    autoescape = context.eval_ctx.autoescape
    if variables:
        value = _translate(string)
        return (Markup(value) if autoescape else value) % variables
    return _finished(string, autoescape)


def install_template_gettext(app) -> None:
    """After Flask-Babel's init_app: its other callables stay; `_()`/`gettext` get the
    remembering lookup."""
    from flask_babel import get_translations

    app.jinja_env.install_gettext_callables(
        gettext=_translate,  # replaced below by the remembering newstyle one
        ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n),
    )
    # `_` too, directly: Jinja's own `_` resolves `gettext` from the context on every call.
    app.jinja_env.globals["gettext"] = app.jinja_env.globals["_"] = _template_newstyle_gettext
