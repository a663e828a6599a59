from flask import Flask, render_template
from flask_babel import get_locale

from core.errors import NotFound, UserError


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return render_template("error.html", message=exc.message(str(get_locale())), code=404), 404

    @app.errorhandler(UserError)
    def _user_error(exc: UserError):
        return render_template("error.html", message=exc.message(str(get_locale())), code=400), 400

    @app.errorhandler(404)
    def _404(_exc):
        return render_template("error.html", message=None, code=404), 404
