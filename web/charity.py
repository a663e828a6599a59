"""Organisation staff: their needs, posting a 微心愿, editing and submitting a need.
Every route is checked against the organisation the object belongs to (core.policy)."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from core.errors import UserError
from core.money import fmt
from core.policy import can
from funds.models import CommunityFund
from needs import funding, grant_requests, posting, progress, services
from needs.duplicates import hash_key
from needs.models import Need, Organisation
from needs.verification import last_decision
from readside.need_facts import need_facts
from web.db import db_session
from web.forms.charity import EditNeedForm, GrantRequestForm, WishForm
from web.forms.disbursement import DisbursementForm
from web.loading import row_by_or_404, row_or_404
from web.permissions import requires
from web.security import principal

bp = Blueprint("charity", __name__, url_prefix="/org")


def organisation_or_404(org_id: int) -> Organisation:
    return row_or_404(db_session(), Organisation, org_id)


def _need(code: str) -> Need:
    return row_by_or_404(db_session(), Need.code, code)


def _id_key() -> bytes:
    return hash_key(debug=current_app.debug or current_app.testing)


def show_error(form, exc: UserError, field_name: str | None = None) -> None:
    text = exc.message(str(get_locale()))
    field = getattr(form, field_name, None) if field_name else None
    if field is not None:
        field.errors = [*field.errors, text]
    else:
        form.form_errors.append(text)


def beneficiary_choices(org_id: int, with_new: bool):
    people = posting.beneficiaries_of(db_session(), org_id)
    from flask_babel import gettext

    new = [(WishForm.NEW, gettext("新受益人（在下面填写）"))] if with_new else []
    return new + [(p.id, f"{p.pseudonym} · {p.code}") for p in people]


@bp.get("/<int:organisation_id>/needs")
@requires("need.create", load=lambda organisation_id: organisation_or_404(organisation_id))
def needs(organisation_id: int, target: Organisation):
    return render_template("charity/needs.html", organisation=target,
                           needs=posting.needs_of(db_session(), organisation_id))


@bp.route("/<int:organisation_id>/needs/new-wish", methods=["GET", "POST"])
@requires("need.create", load=lambda organisation_id: organisation_or_404(organisation_id))
def new_wish(organisation_id: int, target: Organisation):
    form = WishForm()
    form.beneficiary.choices = beneficiary_choices(organisation_id, with_new=True)
    if request.method == "GET":
        form.region.data = target.region
    if form.validate_on_submit():
        need = _post_wish(form, target)
        if need is not None:
            return redirect(url_for("charity.need", code=need.code), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("charity/new_wish.html", form=form, organisation=target), status


def chosen_beneficiary(form, organisation: Organisation):
    """The form's existing beneficiary, or the new one it describes (public part, private
    part, consent); None with the message beside its field when refused."""
    session = db_session()
    try:
        if form.beneficiary.data == form.NEW:
            return posting.add_beneficiary(session, organisation, posting.NewBeneficiary(
                pseudonym=form.pseudonym.data, full_name=form.full_name.data,
                id_number=form.id_number.data, region=form.region.data,
                address=form.address.data or "", school=form.school.data or "",
                guardian=form.guardian.data or "", guardian_phone=form.guardian_phone.data or "",
                consent_by=form.consent_by.data, consent_relation=form.consent_relation.data,
                consent_on=form.consent_on.data, allow_photo=form.allow_photo.data,
                allow_story=form.allow_story.data), current_user.id, _id_key())
        return posting.own_beneficiary(session, organisation, form.beneficiary.data)
    except UserError as exc:
        show_error(form, exc, "id_number" if "身份证" in exc.msgid else None)
        return None


def _post_wish(form: WishForm, organisation: Organisation) -> Need | None:
    session = db_session()
    again = posting.need_for_key(session, form.key.data)
    if again is not None:
        return again  # the same form sent twice: one need
    person = chosen_beneficiary(form, organisation)
    if person is None:
        return None
    try:
        return posting.post_wish(session, organisation, current_user.id, key=form.key.data,
                                 title=form.title.data, item=form.item.data,
                                 price=form.price.money, category=form.category.data,
                                 region=form.region.data, beneficiary=person,
                                 story=form.story.data or "")
    except UserError as exc:
        show_error(form, exc, "region" if "地区" in exc.msgid else None)
        return None


def need_context(need: Need, grant_form: GrantRequestForm | None = None, **extra) -> dict:
    """What the organisation's page of one need shows: its facts, payouts and milestones,
    and the forms the signed-in person may use on it. A verified 小急难 need carries the
    form that asks a community fund for the grant, and the requests made so far."""
    session = db_session()
    who = principal()
    requests = []
    if need.kind == grant_requests.KIND:
        requests = grant_requests.requests_of(session, need)
        if need.state == "verified" and grant_form is None:
            grant_form = _grant_form(need)
    may_disburse = (can(who, "disbursement.record", need) and need.funded > need.disbursed
                    and need.state not in funding.CLOSED_UNFUNDED)
    context = {"need": need, "grant_form": grant_form, "grant_requests": requests,
               "decision": last_decision(session, need),
               "facts": need_facts(session, need), "can_cancel": can(who, "need.cancel", need),
               "payouts": progress.disbursements_of(session, need),
               "evidence": progress.evidence_of(session, need),
               "milestones": progress.milestones_of(session, need),
               "disburse_form": DisbursementForm() if may_disburse else None}
    return context | extra


def _need_page(need: Need, grant_form: GrantRequestForm | None = None, **extra):
    return render_template("charity/need.html", **need_context(need, grant_form, **extra))


def _grant_form(need: Need) -> GrantRequestForm:
    form = GrantRequestForm()
    form.fund.choices = [
        (f.id, f"{f.name} · {_('余额')} {fmt(f.balance)}"
         + (f" · {_('单笔上限')} {fmt(f.per_grant_cap)}" if f.per_grant_cap else ""))
        for f in grant_requests.eligible_funds(db_session(), need)]
    return form


@bp.get("/needs/<code>")
@requires("need.edit", load=lambda code: _need(code))
def need(code: str, target: Need):
    return _need_page(target)


@bp.post("/needs/<code>/grant-request")
@requires("grant.request", load=lambda code: _need(code))
def request_grant(code: str, target: Need):
    """Ask a community fund for a 小急难 grant: it then waits in the fund manager's queue."""
    form = _grant_form(target)
    if form.validate_on_submit():
        session = db_session()
        try:
            grant_requests.request_grant(
                session, target, session.get(CommunityFund, form.fund.data), form.amount.money,
                current_user.id, form.reason.data)
        except UserError as exc:
            show_error(form, exc)
        else:
            return redirect(url_for("charity.need", code=code), code=303)
    return _need_page(target, grant_form=form), 422


@bp.post("/needs/<code>/cancel")
@requires("need.cancel", load=lambda code: _need(code))
def cancel(code: str, target: Need):
    try:
        services.cancel(db_session(), target, current_user.id, request.form.get("reason", ""))
    except UserError as exc:
        return _need_page(target, decision=None, error=exc.message(str(get_locale()))), 400
    return redirect(url_for("charity.need", code=code), code=303)


@bp.route("/needs/<code>/edit", methods=["GET", "POST"])
@requires("need.edit", load=lambda code: _need(code))
def edit(code: str, target: Need):
    form = EditNeedForm(obj=None if request.method == "POST" else target)
    form.beneficiary.choices = beneficiary_choices(target.organisation_id, with_new=False) or [
        (0, "—")]
    if request.method == "GET":
        form.amount.data = f"{target.amount // 100}.{target.amount % 100:02d}"  # yuan
        form.beneficiary.data = target.beneficiary_id or 0
    if form.validate_on_submit():
        session = db_session()
        organisation = session.get(Organisation, target.organisation_id)
        try:
            person = (posting.own_beneficiary(session, organisation, form.beneficiary.data)
                      if form.beneficiary.data else None)
            posting.edit_need(session, target, current_user.id, title=form.title.data,
                              story=form.story.data or "", amount=form.amount.money,
                              beneficiary=person)
        except UserError as exc:
            show_error(form, exc)
        else:
            return redirect(url_for("charity.need", code=code), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("charity/edit.html", form=form, need=target), status


@bp.post("/needs/<code>/submit")
@requires("need.submit", load=lambda code: _need(code))
def submit(code: str, target: Need):
    try:
        posting.submit_need(db_session(), target, current_user.id)
    except UserError as exc:
        return _need_page(target, decision=None, error=exc.message(str(get_locale()))), 400
    return redirect(url_for("charity.need", code=code), code=303)
