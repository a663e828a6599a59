from flask import Flask, render_template, request
from flask_babel import gettext
from werkzeug.exceptions import InternalServerError

from core.errors import NotFound, ServiceUnavailable, UserError


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return render_template("error.html", message=exc.render(gettext), code=404), 404

    @app.errorhandler(UserError)
    def _user_error(exc: UserError):
        # A refused input is a 4xx (and the request rolls back, web.db). htmx requests get
        # 422, which base.html tells htmx to swap, so the message shows in place.
        code = 422 if request.headers.get("HX-Request") else 400
        return render_template("error.html", message=exc.render(gettext),
                               code=code), code

    @app.errorhandler(ServiceUnavailable)
    def _unavailable(exc: ServiceUnavailable):
        # The server cannot do this now (e.g. no way of paying is configured): not the
        # visitor's mistake, so a 503 with the reason, in the visitor's language.
        return render_template("error.html", message=exc.render(gettext), code=503), 503

    @app.errorhandler(InternalServerError)
    def _500(_exc):
        # A bug: Flask has logged the traceback; the visitor gets our page in their language,
        # never Werkzeug's English one.
        return render_template("error.html", message=gettext(
            "出错了，我们已记录这个问题。请稍后再试。"), code=500), 500

    @app.errorhandler(404)
    def _404(_exc):
        return render_template("error.html", message=None, code=404), 404

    @app.errorhandler(403)
    def _403(_exc):
        return render_template("error.html", message=gettext("您的账户没有权限查看这个页面。"),
                               code=403), 403

    @app.errorhandler(429)
    def _429(_exc):
        # Flask-Limiter adds Retry-After to this response (RATELIMIT_HEADERS_ENABLED).
        return render_template("error.html", message=gettext("请求过于频繁，请稍后再试。"),
                               code=429), 429
