"""The Flask app factory. `flask --app web ...` finds create_app here."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, request
from flask_babel import Babel, get_locale
from flask_htmx import HTMX

from core.config import ROOT, Settings
from web import db as request_db
from web import page_cache

babel = Babel()
htmx = HTMX()
LOCALES = ("zh_CN", "en")


def select_locale() -> str:
    chosen = request.args.get("lang") or request.cookies.get("lang")
    return chosen if chosen in LOCALES else "zh_CN"


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, template_folder=str(ROOT / "templates"),
                static_folder=str(Path(__file__).parent / "static"),
                instance_path=str(ROOT / "instance"))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SHANLIAN=settings,
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    babel.init_app(app, locale_selector=select_locale)
    htmx.init_app(app)
    request_db.init_app(app)
    page_cache.init_app(app)
    app.jinja_env.globals["get_locale"] = get_locale

    from web import filters, fragments
    filters.init_app(app)
    fragments.init_app(app)

    from web.disclosure import bp as disclosure_bp
    from web.disclosure import pages as need_pages_bp
    from web.health import bp as health_bp
    from web.i18n import bp as i18n_bp
    from web.public import bp as public_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(disclosure_bp)
    app.register_blueprint(need_pages_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(i18n_bp)

    from web.cli import register_cli
    register_cli(app)

    from web.errors import register_error_handlers
    register_error_handlers(app)
    return app
