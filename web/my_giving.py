"""A signed-in donor's own giving: every gift and where its money went (with evidence and
the receipt), and the yearly statement (年度捐赠明细) as a PDF. An enterprise's people get
their enterprise's yearly statement beside its pledges."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from core.clock import now
from donors.models import Enterprise
from donors.receipts import beijing
from readside import gift_trails, giving_statements
from web.db import db_session
from web.giving import gift_token
from web.loading import row_or_404
from web.permissions import requires

bp = Blueprint("my_giving", __name__, url_prefix="/account/giving")
enterprise_bp = Blueprint("enterprise_statements", __name__, url_prefix="/enterprise")


def _this_year() -> int:
    return beijing(now()).year


def _pdf(data: bytes, filename: str) -> Response:
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/")
@requires("donation.view_own")
def gifts():
    views = gift_trails.gifts_of_user(db_session(), current_user.id)
    return render_template("giving/my_gifts.html", gifts=views, gift_token=gift_token)


@bp.get("/statements")
@requires("donation.view_own")
def statements():
    db = db_session()
    year = giving_statements.check_year(request.args.get("year") or _this_year(), _this_year())
    return render_template(
        "giving/statements.html", year=year, years=_choices(
            giving_statements.donor_years(db, current_user.id)),
        lines=giving_statements.donor_lines(db, current_user.id, year), owner=current_user.name,
        pdf_url=("my_giving.statement_pdf", {}))


@bp.get("/statements/<int:year>.pdf")
@requires("donation.view_own")
def statement_pdf(year: int):
    year = giving_statements.check_year(year, _this_year())
    data = giving_statements.donor_statement(db_session(), current_user.id, current_user.name,
                                             year)
    return _pdf(data, f"shanlian-statement-{year}.pdf")


def _enterprise(enterprise_id, **_):
    return row_or_404(db_session(), Enterprise, enterprise_id)


@enterprise_bp.get("/<int:enterprise_id>/statements")
@requires("pledge.view", load=_enterprise)
def enterprise_statements(enterprise_id: int, target: Enterprise):
    db = db_session()
    year = giving_statements.check_year(request.args.get("year") or _this_year(), _this_year())
    return render_template(
        "giving/statements.html", year=year, owner=target.name,
        years=_choices(giving_statements.enterprise_years(db, target)),
        lines=giving_statements.enterprise_lines(db, target, year),
        pdf_url=("enterprise_statements.enterprise_statement_pdf", {"enterprise_id": target.id}))


@enterprise_bp.get("/<int:enterprise_id>/statements/<int:year>.pdf")
@requires("pledge.view", load=_enterprise)
def enterprise_statement_pdf(enterprise_id: int, year: int, target: Enterprise):
    year = giving_statements.check_year(year, _this_year())
    data = giving_statements.enterprise_statement(db_session(), target, year)
    return _pdf(data, f"shanlian-statement-{target.code}-{year}.pdf")


def _choices(years: list[int]) -> list[int]:
    """The years offered: those with gifts, and always this year."""
    return sorted({*years, _this_year()}, reverse=True)
