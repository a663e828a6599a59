"""Verifiers: the queue of submitted needs in their region (oldest first), a need with its
beneficiary's private fields and the duplicate panel, the decision, and duplicate flags."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from sqlmodel import select

from core.errors import UserError
from needs import duplicate_check, verification
from needs.models import Beneficiary, BeneficiaryConsent, BeneficiaryPrivate, DuplicateFlag, Need
from needs.models import Organisation as Org
from readside.need_facts import need_facts
from web.db import db_session
from web.forms.charity import DecisionForm, FlagForm
from web.loading import row_by_or_404, row_or_404
from web.permissions import requires, signed_in
from web.security import principal

bp = Blueprint("verification", __name__, url_prefix="/verify")


def _need(code: str) -> Need:
    return row_by_or_404(db_session(), Need.code, code)


def _flag_person(flag_id: int) -> Beneficiary:
    """A flag is judged by a verifier of the region of the beneficiary it was raised on."""
    flag = row_or_404(db_session(), DuplicateFlag, flag_id)
    return db_session().get(Beneficiary, flag.beneficiary_id)


def _regions() -> list[str]:
    return [m.region for m in principal().memberships if m.role == "verifier" and m.region]


@bp.get("/")
@signed_in
def queue():
    regions = _regions()
    if not regions:
        abort(403)  # the queue is a verifier's; their region is what scopes it
    session = db_session()
    needs = verification.queue(session, regions)
    organisations = {o.id: o for o in session.exec(
        select(Org).where(Org.id.in_({n.organisation_id for n in needs})))} if needs else {}
    flagged = {n.id: len(duplicate_check.open_flags(session, n.beneficiary_id))
               for n in needs if n.beneficiary_id}
    return render_template("verification/queue.html", needs=needs, regions=regions,
                           organisations=organisations, flagged=flagged)


def _panel(need: Need) -> dict:
    session = db_session()
    person = session.get(Beneficiary, need.beneficiary_id) if need.beneficiary_id else None
    flags = duplicate_check.flags_of(session, person.id) if person else []
    others = []
    for flag in flags:
        other = session.get(Beneficiary, flag.other_id)
        others.append({
            "flag": flag, "person": other,
            "private": session.get(BeneficiaryPrivate, flag.other_id),
            "organisation": session.get(Org, other.organisation_id),
            "needs": duplicate_check.active_needs_of(session, flag.other_id),
            "form": FlagForm(prefix=f"flag{flag.id}"),
        })
    consent = session.exec(select(BeneficiaryConsent)
                           .where(BeneficiaryConsent.beneficiary_id == person.id)
                           .order_by(BeneficiaryConsent.id.desc())).first() if person else None
    return {"need": need, "organisation": session.get(Org, need.organisation_id),
            "person": person, "consent": consent,
            "private": session.get(BeneficiaryPrivate, person.id) if person else None,
            "others": others, "facts": need_facts(session, need)}


@bp.route("/needs/<code>", methods=["GET", "POST"])
@requires("need.verify", load=lambda code: _need(code))
def need(code: str, target: Need):
    form = DecisionForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                verification.decide(db_session(), target, current_user.id, form.decision.data,
                                    form.reason.data or "")
            except UserError as exc:
                form.form_errors.append(exc.message(str(get_locale())))
            else:
                return redirect(url_for("verification.queue"), code=303)
        status = 422
    return render_template("verification/need.html", form=form, **_panel(target)), status


@bp.post("/flags/<int:flag_id>")
@requires("duplicate.resolve", load=lambda flag_id: _flag_person(flag_id))
def resolve_flag(flag_id: int, target: Beneficiary):
    session = db_session()
    flag = session.get(DuplicateFlag, flag_id)
    need = session.exec(select(Need).where(Need.beneficiary_id == flag.beneficiary_id,
                                           Need.state == "submitted")
                        .order_by(Need.id)).first()
    form = FlagForm(prefix=f"flag{flag_id}")
    error = None
    if form.validate_on_submit():
        try:
            duplicate_check.resolve(session, flag, current_user.id, form.status.data)
        except UserError as exc:
            error = exc.message(str(get_locale()))
    else:
        error = "; ".join(e for errors in form.errors.values() for e in errors)
    if error is None and need is not None:
        return redirect(url_for("verification.need", code=need.code), code=303)
    if error is None:
        return redirect(url_for("verification.queue"), code=303)
    if need is None:
        abort(400)
    decision = DecisionForm()
    decision.form_errors.append(error)
    return render_template("verification/need.html", form=decision, **_panel(need)), 400
