"""Sign-up, sign-in and sign-out (Flask-Login). Sign-in is rate-limited per address and
an account is locked for a while after repeated failures (core.accounts)."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user, login_user, logout_user

from core import accounts, password_reset
from core.errors import UserError
from web.db import db_session
from web.forms.accounts import ResetPasswordForm, ResetRequestForm, SignInForm, SignUpForm
from web.i18n import safe_target
from web.permissions import signed_in
from web.security import limiter

bp = Blueprint("accounts", __name__, url_prefix="/account")


def _next() -> str:
    return safe_target(request.args.get("next")) or url_for("accounts.home")


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit("10/minute;60/hour", methods=["POST"])
def sign_in():
    form = SignInForm()
    if form.validate_on_submit():
        outcome = accounts.authenticate(db_session(), form.email.data, form.password.data)
        if outcome.user is not None:
            login_user(outcome.user)
            return redirect(_next(), code=303)
        form.form_errors.append(gettext(outcome.refusal, **outcome.params))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/sign_in.html", form=form), status


@bp.route("/sign-up", methods=["GET", "POST"])
@limiter.limit("5/minute;30/hour", methods=["POST"])
def sign_up():
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(db_session(), form.email.data, form.name.data,
                                        form.password.data, locale=str(get_locale()))
            accounts.grant(db_session(), user, "donor", actor_id=user.id)
        except UserError as exc:
            form.form_errors.append(exc.message(str(get_locale())))
        else:
            login_user(user)
            return redirect(_next(), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/sign_up.html", form=form), status


@bp.post("/sign-out")
@signed_in
def sign_out():
    logout_user()
    return redirect(url_for("public.home"), code=303)


@bp.get("/")
@signed_in
def home():
    from sqlmodel import select

    from core.policy import allowed_actions
    from donors.models import Enterprise
    from needs.models import Organisation
    from web.security import principal

    memberships = principal().memberships
    org_ids = {m.organisation_id for m in memberships if m.organisation_id}
    ent_ids = {m.enterprise_id for m in memberships if m.enterprise_id}
    s = db_session()
    organisations = [*s.exec(select(Organisation).where(Organisation.id.in_(org_ids))),
                     *s.exec(select(Enterprise).where(Enterprise.id.in_(ent_ids)))] \
        if org_ids or ent_ids else []
    from donors.returns import inbox
    from web.forms.giving import ConfirmForm

    return render_template("accounts/home.html", user=current_user, memberships=memberships,
                           organisations=organisations, actions=allowed_actions(principal()),
                           inbox=inbox(s, current_user.id), read_form=ConfirmForm())


def _settings():
    return current_app.config["SHANLIAN"]


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit("5/minute;20/hour", methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        password_reset.request_reset(db_session(), form.email.data,
                                     secret_key=current_app.secret_key,
                                     site_url=_settings().site_url)
        return render_template("accounts/reset_sent.html")
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/reset_request.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
def reset_password(token: str):
    form = ResetPasswordForm()
    try:
        password_reset.user_for_token(db_session(), token, secret_key=current_app.secret_key)
    except UserError as exc:
        return render_template("accounts/reset_invalid.html",
                               message=exc.message(str(get_locale()))), 400
    if form.validate_on_submit():
        try:
            password_reset.reset_password(db_session(), token, form.password.data,
                                          secret_key=current_app.secret_key)
        except UserError as exc:
            form.password.errors.append(exc.message(str(get_locale())))
        else:
            return redirect(url_for("accounts.sign_in", reset="done"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/reset_password.html", form=form), status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit("10/minute", methods=["POST"])
def accept_invitation(token: str):
    from donors import invitations
    from web.forms.onboarding import AcceptInvitationForm

    secret = current_app.secret_key
    try:
        kind, target, email, role, user = invitations.read(db_session(), token,
                                                           secret_key=secret)
    except UserError as exc:
        return render_template("accounts/reset_invalid.html",
                               message=exc.message(str(get_locale()))), 400
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = invitations.accept(db_session(), token, secret_key=secret,
                                      name=form.name.data, password=form.password.data,
                                      locale=str(get_locale()))
        except UserError as exc:
            form.form_errors.append(exc.message(str(get_locale())))
        else:
            if current_user.is_authenticated and current_user.id != user.id:
                logout_user()
            login_user(user)
            return redirect(url_for("accounts.home"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/invitation.html", form=form, target=target, email=email,
                           role=role, existing=user is not None), status
