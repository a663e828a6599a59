"""Public pages: home, the list of needs, one need."""
from flask import Blueprint, render_template, request

from needs import queries
from web.db import session

bp = Blueprint("public", __name__)


def _page_arg() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


@bp.get("/")
def home():
    db = session()
    return render_template("home.html", totals=queries.platform_totals(db),
                           programmes=queries.programmes_with_totals(db))


@bp.get("/needs")
def needs():
    page = _page_arg()
    rows, total = queries.public_needs(session(), page=page)
    return render_template("needs.html", needs=rows, total=total, page=page, per_page=20)


@bp.get("/needs/<code>")
def need(code: str):
    return render_template("need.html", view=queries.need_view(session(), code))
