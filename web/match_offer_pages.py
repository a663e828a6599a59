"""配捐 offers around `donors.match_offers`: an enterprise's people propose an offer and see
their offers (read-only: an offer is never edited, an approved one has its public page
with the live meter); a platform admin approves or rejects each pending offer."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlmodel import select

from core.errors import UserError
from core.policy import can
from donors import match_offers
from donors.match_models import MatchOffer
from donors.models import Enterprise
from needs.models import Programme
from web.db import db_session
from web.forms.giving import ConfirmForm
from web.forms.match_offers import MatchOfferForm
from web.forms.matching import ReasonForm
from web.loading import row_or_404
from web.permissions import requires
from web.security import principal

enterprise_bp = Blueprint("enterprise_offers", __name__, url_prefix="/enterprise")
admin_bp = Blueprint("match_offer_admin", __name__, url_prefix="/admin/match-offers")


OFFER_STATUS = {"pending": _l("待审批"), "approved": _l("已批准"), "rejected": _l("未批准"),
                "closed": _l("已结束")}


@enterprise_bp.app_template_filter("offer_status")
def _offer_status(status: str) -> str:
    return str(OFFER_STATUS.get(status, status))


def _enterprise(enterprise_id, **_):
    return row_or_404(db_session(), Enterprise, enterprise_id)


def _offer(offer_id, **_):
    return row_or_404(db_session(), MatchOffer, offer_id)


def _offers(**where):
    query = select(MatchOffer).order_by(MatchOffer.id.desc())
    for column, value in where.items():
        query = query.where(getattr(MatchOffer, column) == value)
    return db_session().exec(query).all()


@enterprise_bp.get("/<int:enterprise_id>/match-offers")
@requires("match_offer.view", load=_enterprise)
def offers(enterprise_id: int, target: Enterprise):
    return render_template("giving/enterprise_offers.html", enterprise=target,
                           offers=_offers(enterprise_id=target.id), programmes=_programmes(),
                           may_create=can(principal(), "match_offer.create", target))


@enterprise_bp.route("/<int:enterprise_id>/match-offers/new", methods=["GET", "POST"])
@requires("match_offer.create", load=_enterprise)
def new_offer(enterprise_id: int, target: Enterprise):
    if target.status != "approved":
        raise UserError("企业尚未通过审核，不能发起配捐")
    form = MatchOfferForm(programmes=_programmes().values())
    if form.validate_on_submit():
        starts_at, ends_at = form.window()
        try:
            match_offers.create_offer(
                db_session(), target, title=form.title.data, ratio_pct=form.ratio_pct.data,
                total_cap=form.total_cap_fen, per_gift_cap=form.per_gift_cap_fen,
                per_need_cap=form.per_need_cap_fen, starts_at=starts_at, ends_at=ends_at,
                programme_ids=form.programme_ids.data or [],
                categories=form.categories.data or [], regions=form.regions.data or [],
                actor_id=current_user.id)
        except UserError as error:  # the request rolls back: nothing is written
            form.form_errors.append(error.message(str(get_locale())))
        else:
            flash(gettext("配捐已提交，等待平台管理员审批"))
            return redirect(url_for("enterprise_offers.offers", enterprise_id=target.id),
                            code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("giving/match_offer_form.html", form=form, enterprise=target), status


def _programmes() -> dict[int, Programme]:
    return {p.id: p for p in db_session().exec(select(Programme).order_by(Programme.id))}


@admin_bp.get("/")
@requires("match_offer.approve")
def queue():
    db = db_session()
    enterprises = {e.id: e for e in db.exec(select(Enterprise))}
    return render_template("giving/admin_match_offers.html", pending=_offers(status="pending"),
                           decided=[o for o in _offers() if o.status != "pending"][:50],
                           enterprises=enterprises, programmes=_programmes(),
                           confirm_form=ConfirmForm(), reason_form=ReasonForm())


@admin_bp.post("/<int:offer_id>/approve")
@requires("match_offer.approve", load=_offer)
def approve(offer_id: int, target: MatchOffer):
    if not ConfirmForm().validate_on_submit():
        raise UserError("表单已过期，请刷新后重试")
    match_offers.approve_offer(db_session(), target, actor_id=current_user.id)
    flash(gettext("已批准配捐 %(code)s", code=target.code))
    return redirect(url_for("match_offer_admin.queue"), code=303)


@admin_bp.post("/<int:offer_id>/reject")
@requires("match_offer.approve", load=_offer)
def reject(offer_id: int, target: MatchOffer):
    form = ReasonForm()
    if not form.validate_on_submit():
        raise UserError("表单已过期，请刷新后重试")
    match_offers.reject_offer(db_session(), target, actor_id=current_user.id,
                              reason=(form.reason.data or "").strip())
    flash(gettext("已拒绝配捐 %(code)s", code=target.code))
    return redirect(url_for("match_offer_admin.queue"), code=303)
