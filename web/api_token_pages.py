"""The account pages of an organisation's or enterprise's API tokens: list, create (the
secret is shown on the answer to the creating POST, once, and never again) and revoke.
Only those core.policy allows `api_token.manage` there (an org_admin, an enterprise
reviewer)."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user

from core import api_tokens
from core.errors import UserError
from donors.models import Enterprise
from needs.models import Organisation
from web.db import db_session
from web.forms.accounts import ApiTokenForm, RevokeTokenForm
from web.loading import row_or_404
from web.permissions import requires

bp = Blueprint("api_tokens", __name__, url_prefix="/account/api-tokens")
OWNERS = {"organisation": Organisation, "enterprise": Enterprise}


def _owner(kind: str, owner_id: int, **_):
    model = OWNERS.get(kind)
    if model is None:
        abort(404)
    return row_or_404(db_session(), model, owner_id)


def _page(kind: str, owner, form: ApiTokenForm, created=None, status: int = 200):
    response = render_template(
        "accounts/api_tokens.html", kind=kind, owner=owner, form=form, created=created,
        revoke_form=RevokeTokenForm(), tokens=api_tokens.tokens_of(db_session(), kind, owner.id))
    headers = {"Cache-Control": "no-store"}  # the page that shows a new secret is never kept
    return response, status, headers


@bp.route("/<any(organisation, enterprise):kind>/<int:owner_id>", methods=["GET", "POST"])
@requires("api_token.manage", load=_owner)
def tokens(kind: str, owner_id: int, target):
    form = ApiTokenForm()
    if form.validate_on_submit():
        try:
            created = api_tokens.create(db_session(), kind, target.id, name=form.name.data,
                                        scope=form.scope.data, actor_id=current_user.id)
        except UserError as exc:
            form.form_errors.append(exc.message(str(get_locale())))
        else:
            return _page(kind, target, ApiTokenForm(formdata=None), created, 201)
    return _page(kind, target, form, status=422 if request.method == "POST" else 200)


@bp.post("/<any(organisation, enterprise):kind>/<int:owner_id>/<int:token_id>/revoke")
@requires("api_token.manage", load=_owner)
def revoke(kind: str, owner_id: int, token_id: int, target):
    if not RevokeTokenForm().validate_on_submit():
        abort(400)
    try:
        api_tokens.revoke(db_session(), kind, target.id, token_id, current_user.id)
    except UserError:
        abort(404)
    return redirect(url_for("api_tokens.tokens", kind=kind, owner_id=target.id), code=303)
