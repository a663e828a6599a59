"""Public pages: home, the list of needs, one need."""
from flask import Blueprint, make_response, render_template, request, url_for
from flask_babel import gettext

from readside import browse, need_page, totals
from web import htmx
from web.db import db_session

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    db = db_session()
    return render_template("home.html", totals=totals.platform_totals(db),
                           programmes=totals.programmes_with_totals(db))


@bp.app_template_global()
def need_cards_key(needs, programme_names) -> tuple:
    """Everything a list of need cards shows, for its fragment key."""
    return tuple((n.code, n.title, n.kind, n.category, n.state, n.region,
                  programme_names.get(n.programme_id), n.urgency, n.deadline, n.funded, n.amount)
                 for n in needs)


@bp.get("/needs")
def needs():
    """Browse and search public needs. An htmx request gets only the results partial (and the
    canonical URL to push); a direct visit, or htmx restoring history, gets the full page.
    Bad filter values are reported and left out (400 on a full page; the htmx partial is a
    200, because htmx does not swap error responses)."""
    # A plain dict: a MultiDict raises (and catches) an exception for every absent key.
    result = browse.browse_needs(db_session(), request.args.to_dict())
    errors = [e.render(gettext) for e in result.errors]
    partial = bool(htmx) and not htmx.history_restore_request
    template = "partials/need_list.html" if partial else "needs.html"
    # Refused filters are a 4xx either way: 422 for htmx (base.html has htmx swap it, so the
    # messages show in place), 400 for a whole page.
    status = (422 if partial else 400) if errors else 200
    response = make_response(render_template(template, b=result, f=result.filter, errors=errors),
                             status)
    response.vary.add("HX-Request")
    if partial:
        response.headers["HX-Push-Url"] = url_for("public.needs", **result.filter.query_args())
    return response


@bp.get("/needs/regions")
def need_regions():
    """The lower selects of the 省 → 市 → 县 cascade for what is chosen so far (htmx)."""
    regions = browse.region_choices(request.args.get("province", ""),
                                     request.args.get("city", ""))
    return render_template("partials/need_filters.html", regions_only=True, r=regions)


@bp.get("/needs/<code:code>")
def need(code: str):
    return render_template("need.html", view=need_page.need_view(db_session(), code))
