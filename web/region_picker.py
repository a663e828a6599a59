"""The 省 → 市 → 县 picker's lower selects, for htmx: choosing a province loads its cities,
a city its counties. Read-only and public (it shows only the administrative tree of
core/regions.py). Forms using it also work without JavaScript: they re-render themselves
with the next level filled in (see web/matching_pages.new_pledge)."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import gettext

from core.errors import UserError
from core.regions import cascade
from web.permissions import public

bp = Blueprint("region_picker", __name__, url_prefix="/regions")


@bp.get("/picker")
@public
def picker():
    """The city and county selects for ?region_province=…&region_city=…&region_county=…
    (what is chosen stays selected; a level left over from another province is dropped).
    An unknown province is a 422, which htmx swaps in: the message shows in place."""
    args = request.args
    try:
        pick = cascade(args.get("region_province", ""), args.get("region_city", ""),
                       args.get("region_county", ""))
    except UserError as error:
        return render_template("partials/region_picker.html", pick=cascade(),
                               error=error.render(gettext)), 422
    return render_template("partials/region_picker.html", pick=pick, error=None)
