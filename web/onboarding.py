"""Onboarding pages: apply (signed in), see one's applications, invite staff."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from core.errors import UserError
from donors import invitations, onboarding
from donors.models import Enterprise
from needs.models import Organisation
from web.db import db_session
from web.forms.onboarding import ApplicationForm, InviteForm
from web.loading import row_or_404
from web.permissions import requires, signed_in
from web.security import limiter

bp = Blueprint("onboarding", __name__, url_prefix="/onboarding")


def _settings():
    return current_app.config["SHANLIAN"]


def _field_for(exc: UserError, form: ApplicationForm):
    """Put a service refusal beside the field it is about."""
    text = exc.message(str(get_locale()))
    if "公募资格" in exc.msgid:
        form.public_fundraising_cert.errors = [*form.public_fundraising_cert.errors, text]
    elif "统一社会信用代码" in exc.msgid:
        form.uscc.errors = [*form.uscc.errors, text]
    elif "名称" in exc.msgid:
        form.name.errors = [*form.name.errors, text]
    elif "地区" in exc.msgid:
        form.region.errors = [*form.region.errors, text]
    elif "邮箱" in exc.msgid:
        form.contact_email.errors = [*form.contact_email.errors, text]
    else:
        form.form_errors.append(text)


@bp.route("/apply", methods=["GET", "POST"])
@signed_in
@limiter.limit("10/hour", methods=["POST"])
def apply():
    form = ApplicationForm()
    if form.validate_on_submit():
        try:
            onboarding.apply(
                db_session(), current_user, kind=form.kind.data, name=form.name.data,
                region=form.region.data, uscc=form.uscc.data,
                certificate=form.checked_certificate, upload_dir=_settings().upload_dir,
                contact_name=form.contact_name.data, contact_phone=form.contact_phone.data,
                contact_email=form.contact_email.data,
                public_fundraising=form.public_fundraising.data,
                public_fundraising_cert=form.public_fundraising_cert.data or "")
        except UserError as exc:
            _field_for(exc, form)
        else:
            return redirect(url_for("onboarding.mine"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("onboarding/apply.html", form=form), status


@bp.get("/")
@signed_in
def mine():
    rows = onboarding.applications(db_session(), status=None, applicant_id=current_user.id)
    return render_template("onboarding/mine.html", applications=rows)


def _organisation(id: int) -> Organisation:  # noqa: A002
    return row_or_404(db_session(), Organisation, id)


def _enterprise(id: int) -> Enterprise:  # noqa: A002
    return row_or_404(db_session(), Enterprise, id)


def _invite(kind: str, target):
    form = InviteForm()
    sent = None
    if form.validate_on_submit():
        try:
            invitations.invite(db_session(), current_user, kind, target.id, form.email.data,
                               secret_key=current_app.secret_key,
                               site_url=_settings().site_url,
                               locale=current_user.locale)
        except UserError as exc:
            form.email.errors = [*form.email.errors, exc.message(str(get_locale()))]
        else:
            sent = form.email.data
            form = InviteForm(formdata=None)
    status = 422 if request.method == "POST" and sent is None else 200
    return render_template("onboarding/invite.html", form=form, target=target, kind=kind,
                           sent=sent), status


@bp.route("/organisations/<int:id>/invite", methods=["GET", "POST"])
@requires("organisation.manage_staff", load=lambda id: _organisation(id))
@limiter.limit("30/hour", methods=["POST"])
def invite_organisation_staff(id: int, target: Organisation):  # noqa: A002
    return _invite("organisation", target)


@bp.route("/enterprises/<int:id>/invite", methods=["GET", "POST"])
@requires("enterprise.manage_staff", load=lambda id: _enterprise(id))
@limiter.limit("30/hour", methods=["POST"])
def invite_enterprise_staff(id: int, target: Enterprise):  # noqa: A002
    return _invite("enterprise", target)
