"""The Flask app factory. `flask --app web ...` finds create_app here."""
from __future__ import annotations

from pathlib import Path

import click
from babel import Locale
from flask import Flask, current_app, request
from flask_babel import Babel, get_locale
from flask_htmx import HTMX
from werkzeug.middleware.proxy_fix import ProxyFix

from core import logs
from core.config import DEV_SECRET_KEY, LOCALES, ROOT, Settings
from jobs.queue import install_outbox_sender
from web import db as request_db
from web import page_cache, request_log


class ShanlianFlask(Flask):
    def dispatch_request(self):
        # Reached only when the view returned instead of raising: the request's unit of
        # work may then commit (web.db).
        response = super().dispatch_request()
        request_db.mark_view_returned()
        return response


babel = Babel()
htmx = HTMX()


def select_locale() -> Locale:
    chosen = request.args.get("lang") or request.cookies.get("lang")
    if request.path.startswith("/api/") and not request.args.get("lang"):  # machines say it
        from web.api.language import accepted_language

        chosen = accepted_language(request.accept_languages) or chosen
    code = chosen if chosen in LOCALES else current_app.config["SHANLIAN"].default_locale
    # A parsed Locale, made once per code: Flask-Babel parses a string on every request
    # (about 160 calls), and passes a Locale through.
    locale = _PARSED_LOCALES.get(code)
    if locale is None:
        locale = _PARSED_LOCALES[code] = Locale.parse(code)
    return locale


_PARSED_LOCALES: dict[str, Locale] = {}


def _refuse_dev_secret(app: Flask, settings: Settings) -> None:
    """The development SECRET_KEY signs nothing real: refused unless the app is in debug or
    testing, or is only running a CLI command (db upgrade, demo load: no cookies signed)."""
    if settings.secret_key != DEV_SECRET_KEY or app.debug or app.testing:
        return
    command = click.get_current_context(silent=True)
    if command is not None and command.info_name != "run":
        return
    raise RuntimeError("SECRET_KEY is the development value: set SECRET_KEY (or run with --debug)")


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = ShanlianFlask(__name__, template_folder=str(ROOT / "templates"),
                        static_folder=str(Path(__file__).parent / "static"),
                        instance_path=str(ROOT / "instance"))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SHANLIAN=settings,
        BABEL_DEFAULT_LOCALE=settings.default_locale,
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,
    )
    _refuse_dev_secret(app, settings)
    if settings.proxy_fix:  # trust X-Forwarded-For/-Proto only from the configured proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_fix,
                                x_proto=settings.proxy_fix)
    logs.configure()
    request_log.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    from web.i18n import install_template_gettext
    install_template_gettext(app)
    htmx.init_app(app)
    request_db.init_app(app)
    install_outbox_sender(settings)
    page_cache.init_app(app)
    app.jinja_env.globals["get_locale"] = get_locale

    from web import converters, permissions, security
    converters.init_app(app)
    security.init_app(app)
    permissions.init_app(app)

    from web import filters, fragments, url_memo
    filters.init_app(app)
    fragments.init_app(app)
    url_memo.init_app(app)

    from web import converters
    converters.init_app(app)  # before the blueprints: their rules use <id:…> and <code:…>

    from web.accounts import bp as accounts_bp
    from web.admin import bp as admin_bp
    from web.api import bp as api_bp
    from web.api_token_pages import bp as api_tokens_bp
    from web.charity import bp as charity_bp
    from web.charity_kinds import bp as charity_kinds_bp
    from web.dev_mail import bp as dev_mail_bp
    from web.disbursement_pages import bp as charity_disbursement_bp
    from web.disclosure import bp as disclosure_bp
    from web.disclosure import pages as need_pages_bp
    from web.evidence_pages import bp as charity_evidence_bp
    from web.giving import bp as give_bp
    from web.health import bp as health_bp
    from web.i18n import bp as i18n_bp
    from web.matching_pages import enterprise_bp, fund_bp, runs_bp
    from web.onboarding import bp as onboarding_bp
    from web.payments_admin import bp as payments_bp
    from web.public import bp as public_bp
    from web.region_picker import bp as region_picker_bp
    from web.stripe_webhook import bp as stripe_bp
    from web.verification import bp as verification_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(charity_bp)
    app.register_blueprint(charity_kinds_bp)
    app.register_blueprint(charity_evidence_bp)
    app.register_blueprint(charity_disbursement_bp)
    app.register_blueprint(verification_bp)
    app.register_blueprint(onboarding_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(dev_mail_bp)
    app.register_blueprint(disclosure_bp)
    app.register_blueprint(need_pages_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(i18n_bp)
    from web import transparency
    transparency.init_app(app)  # checkpoints, proofs, /disclosure/ledger/<seq>
    for matching_bp in (enterprise_bp, fund_bp, runs_bp, region_picker_bp):
        app.register_blueprint(matching_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(api_tokens_bp)
    app.register_blueprint(give_bp)
    app.register_blueprint(payments_bp)
    from web.returns import bp as returns_bp

    app.register_blueprint(returns_bp)
    app.register_blueprint(stripe_bp)
    # h-give2: a donor's own giving, yearly statements, 配捐 offer forms
    from web import match_offer_pages, my_giving
    app.register_blueprint(my_giving.bp)
    app.register_blueprint(my_giving.enterprise_bp)
    app.register_blueprint(match_offer_pages.enterprise_bp)
    app.register_blueprint(match_offer_pages.admin_bp)

    from web.cli import register_cli
    register_cli(app)

    from web.errors import register_error_handlers
    register_error_handlers(app)
    return app
