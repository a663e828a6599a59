"""Organisation staff upload evidence photos and PDF invoices for their verified needs, for
the need or one of its payouts, and mark a milestone done with its photo (checked against
the need's organisation: core.policy "evidence.upload")."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import Length

from core.errors import UserError
from core.money import fmt
from needs import evidence_upload, progress
from needs.models import Need
from web.db import db_session
from web.loading import row_by_or_404
from web.permissions import requires

bp = Blueprint("charity_evidence", __name__, url_prefix="/org")


class PhotoForm(FlaskForm):
    photo = FileField(_l("照片（JPEG、PNG 或 WebP）"), validators=[FileRequired(_l("请选择照片"))])
    caption = StringField(_l("说明（公开）"), validators=[Length(max=300)])
    shows_face = BooleanField(_l("照片中能看到未成年受益人的面部"))


class EvidenceForm(PhotoForm):
    photo = FileField(_l("照片（JPEG、PNG 或 WebP）或发票（PDF）"),
                      validators=[FileRequired(_l("请选择文件"))])
    disbursement = SelectField(_l("对应的拨付"), coerce=int, default=0, validate_choice=True)

    NONE = 0


def payout_choices(need: Need) -> list[tuple[int, str]]:
    from flask_babel import gettext

    return [(EvidenceForm.NONE, gettext("整个需求"))] + [
        (d.id, f"{d.at:%Y-%m-%d} · {fmt(d.amount)} → {d.paid_to}")
        for d in progress.disbursements_of(db_session(), need)]


def _need(code: str) -> Need:
    return row_by_or_404(db_session(), Need.code, code)


@bp.route("/needs/<code>/evidence", methods=["GET", "POST"])
@requires("evidence.upload", load=lambda code: _need(code))
def upload(code: str, target: Need):
    form = EvidenceForm()
    form.disbursement.choices = payout_choices(target)
    if request.method == "GET":
        form.disbursement.data = request.args.get("disbursement", 0, type=int)
    if form.validate_on_submit():
        try:
            evidence_upload.upload_photo(
                db_session(), current_app.config["SHANLIAN"].upload_dir, target,
                form.photo.data.read(), form.photo.data.filename,
                caption=form.caption.data or "", shows_face=form.shows_face.data,
                actor_id=current_user.id, disbursement_id=form.disbursement.data or None)
        except UserError as exc:
            form.photo.errors = [*form.photo.errors, exc.message(str(get_locale()))]
        else:
            return redirect(url_for("charity.need", code=code), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("charity/evidence.html", form=form, need=target), status


@bp.route("/needs/<code>/milestones/<int:milestone_id>/done", methods=["GET", "POST"])
@requires("evidence.upload", load=lambda code, milestone_id: _need(code))
def milestone_done(code: str, milestone_id: int, target: Need):
    milestone = next((m for m in progress.milestones_of(db_session(), target)
                      if m.id == milestone_id), None) or abort(404)
    form = PhotoForm()
    if form.validate_on_submit():
        try:
            progress.complete_milestone(
                db_session(), current_app.config["SHANLIAN"].upload_dir, target, milestone.id,
                form.photo.data.read(), form.photo.data.filename,
                caption=form.caption.data or "", shows_face=form.shows_face.data,
                actor_id=current_user.id)
        except UserError as exc:
            form.photo.errors = [*form.photo.errors, exc.message(str(get_locale()))]
        else:
            return redirect(url_for("charity.need", code=code) + "#milestones", code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("charity/milestone_done.html", form=form, need=target,
                           milestone=milestone), status
