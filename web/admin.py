"""Admin pages, server-rendered: applications to approve, users and their roles, the
audit log with filters and keyset paging."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_login import current_user
from sqlmodel import select

from core import accounts
from core.audit_query import AuditFilter, entries
from core.errors import UserError
from core.users import ROLE_SCOPES, Membership, User
from donors import onboarding
from donors.applications import OnboardingApplication
from donors.models import Enterprise
from funds.models import CommunityFund
from needs.models import Organisation
from web.converters import MAX_ID
from web.db import db_session
from web.forms.admin import AuditFilterForm, DecisionForm, GrantForm, RejectForm
from web.loading import row_or_404
from web.permissions import requires

bp = Blueprint("admin", __name__, url_prefix="/admin")
USERS_PAGE = 50


def _application(id: int) -> OnboardingApplication:  # noqa: A002
    return row_or_404(db_session(), OnboardingApplication, id)


def _user(id: int) -> User:  # noqa: A002
    return row_or_404(db_session(), User, id)


def _shown(exc: UserError) -> str:
    return exc.message(str(get_locale()))


@bp.get("/applications")
@requires("organisation.approve")
def applications():
    status = request.args.get("status", "pending")
    if status not in ("pending", "approved", "rejected"):
        status = "pending"
    rows = onboarding.applications(db_session(), status=status)
    return render_template("admin/applications.html", applications=rows, status=status)


def _application_page(application, reject_form=None, errors=(), status=200):
    return render_template(
        "admin/application.html", application=application,
        target=onboarding.target_of(db_session(), application),
        applicant=db_session().get(User, application.applicant_id),
        decision_form=DecisionForm(), reject_form=reject_form or RejectForm(),
        errors=list(errors)), status


@bp.get("/applications/<int:id>")
@requires("organisation.approve", load=lambda id: _application(id))
def application(id: int, target: OnboardingApplication):  # noqa: A002
    return _application_page(target)


@bp.get("/applications/<int:id>/certificate")
@requires("organisation.approve", load=lambda id: _application(id))
def certificate(id: int, target: OnboardingApplication):  # noqa: A002
    path = onboarding.certificate_path(current_app.config["SHANLIAN"].upload_dir, target)
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype=target.certificate_type,
                     download_name=f"certificate-{target.id}{path.suffix}")


@bp.post("/applications/<int:id>/approve")
@requires("organisation.approve", load=lambda id: _application(id))
def approve(id: int, target: OnboardingApplication):  # noqa: A002
    if not DecisionForm().validate_on_submit():
        abort(400)
    try:
        onboarding.approve(db_session(), target.id, current_user.id,
                           site_url=current_app.config["SHANLIAN"].site_url)
    except UserError as exc:
        return _application_page(target, errors=[_shown(exc)], status=409)
    return redirect(url_for("admin.applications"), code=303)


@bp.post("/applications/<int:id>/reject")
@requires("organisation.approve", load=lambda id: _application(id))
def reject(id: int, target: OnboardingApplication):  # noqa: A002
    form = RejectForm()
    if form.validate_on_submit():
        try:
            onboarding.reject(db_session(), target.id, current_user.id, form.reason.data)
        except UserError as exc:
            if target.status != "pending":
                return _application_page(target, errors=[_shown(exc)], status=409)
            form.reason.errors = [*form.reason.errors, _shown(exc)]
        else:
            return redirect(url_for("admin.applications"), code=303)
    return _application_page(target, reject_form=form, status=422)


@bp.get("/users")
@requires("membership.grant")
def users():
    q = (request.args.get("q") or "").strip()[:100]
    query = select(User).order_by(User.id).limit(USERS_PAGE + 1)
    after = request.args.get("after", type=int)
    if after is not None and 0 <= after <= MAX_ID:
        query = query.where(User.id > after)
    if q:
        query = query.where(User.email.contains(q, autoescape=True)
                            | User.name.contains(q, autoescape=True))
    rows = list(db_session().exec(query))
    more = len(rows) > USERS_PAGE
    rows = rows[:USERS_PAGE]
    return render_template("admin/users.html", users=rows, q=q,
                           next_after=rows[-1].id if more else None)


def _grant_form(formdata=None):
    s = db_session()
    return GrantForm(
        formdata=formdata,
        organisations=s.exec(select(Organisation).where(Organisation.status == "approved")
                             .order_by(Organisation.name)).all(),
        enterprises=s.exec(select(Enterprise).where(Enterprise.status == "approved")
                           .order_by(Enterprise.name)).all(),
        funds=s.exec(select(CommunityFund).order_by(CommunityFund.name)).all())


def _user_page(user: User, form=None, errors=(), status=200):
    memberships = db_session().exec(select(Membership).where(
        Membership.user_id == user.id).order_by(Membership.id)).all()
    return render_template("admin/user.html", user=user, memberships=memberships,
                           form=form or _grant_form(), revoke_form=DecisionForm(),
                           errors=list(errors)), status


@bp.get("/users/<int:id>")
@requires("membership.grant", load=lambda id: _user(id))
def user(id: int, target: User):  # noqa: A002
    return _user_page(target)


@bp.post("/users/<int:id>/grant")
@requires("membership.grant", load=lambda id: _user(id))
def grant(id: int, target: User):  # noqa: A002
    form = _grant_form(request.form)
    if form.validate_on_submit():
        role = form.role.data
        wanted = ROLE_SCOPES[role]
        scope = {}
        if wanted is not None:
            value = getattr(form, wanted).data
            if not value:
                getattr(form, wanted).errors = [_shown(UserError(
                    "请为角色 %(role)s 选择范围", role=role))]
                return _user_page(target, form=form, status=422)
            scope[wanted] = value if wanted == "region" else int(value)
        try:
            accounts.grant(db_session(), target, role, actor_id=current_user.id, **scope)
        except UserError as exc:
            return _user_page(target, form=form, errors=[_shown(exc)], status=422)
        return redirect(url_for("admin.user", id=target.id), code=303)
    return _user_page(target, form=form, status=422)


@bp.post("/users/<int:id>/memberships/<int:membership_id>/revoke")
@requires("membership.grant", load=lambda id, membership_id: _user(id))
def revoke(id: int, membership_id: int, target: User):  # noqa: A002
    if not DecisionForm().validate_on_submit():
        abort(400)
    membership = db_session().get(Membership, membership_id)
    if membership is None or membership.user_id != target.id:
        abort(404)
    try:
        accounts.revoke(db_session(), membership_id, actor_id=current_user.id)
    except UserError as exc:
        return _user_page(target, errors=[_shown(exc)], status=409)
    return redirect(url_for("admin.user", id=target.id), code=303)


@bp.get("/audit")
@requires("audit.view")
def audit():
    form = AuditFilterForm(request.args)
    before = request.args.get("before", type=int)
    if before is not None and not 0 < before <= MAX_ID:
        before = None
    if request.args and not form.validate():
        return render_template("admin/audit.html", form=form, rows=[], next_before=None,
                               actors={}), 400
    f = AuditFilter(actor_id=form.actor.data, action=(form.action.data or "").strip(),
                    target=(form.target.data or "").strip(), since=form.since.data,
                    until=form.until.data)
    rows, next_before = entries(db_session(), f, before=before)
    ids = {r.actor_id for r in rows if r.actor_id is not None}
    actors = {u.id: u for u in db_session().exec(select(User).where(User.id.in_(ids)))} \
        if ids else {}
    args = {k: v for k, v in request.args.items() if k != "before"}
    return render_template("admin/audit.html", form=form, rows=rows, actors=actors,
                           next_before=next_before, args=args)
