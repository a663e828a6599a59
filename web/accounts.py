"""Sign-up, sign-in and sign-out (Flask-Login). Sign-in is rate-limited per address and
an account is locked for a while after repeated failures (core.accounts)."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user, login_user, logout_user

from core import accounts
from core.errors import UserError
from web.db import db_session
from web.forms.accounts import SignInForm, SignUpForm
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
    from core.policy import allowed_actions
    from web.security import principal

    return render_template("accounts/home.html", user=current_user,
                           memberships=principal().memberships,
                           actions=allowed_actions(principal()))
