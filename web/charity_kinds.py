"""Organisation staff post a 项目, a 慈心助学 sponsorship or a 小急难 request (drafts that
they then submit for verification, as a 微心愿). Each route is checked against the
organisation in the URL (core.policy: org staff and admins of that organisation only)."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from core.errors import UserError
from needs import fundraising, post_kinds, posting
from needs.models import Organisation
from web.charity import beneficiary_choices, chosen_beneficiary, organisation_or_404, show_error
from web.db import db_session
from web.forms.need_kinds import MicrograntForm, ProjectForm, SponsorshipForm
from web.permissions import requires

bp = Blueprint("charity_kinds", __name__, url_prefix="/org")

# Which field a service refusal belongs beside (by a word of its message id).
FIELD_OF = (("里程碑", "milestones"), ("备案编号", "filing"), ("公募", "holder"), ("预算", "budget"),
            ("结束日期", "period_end"), ("实施周期", "period_end"), ("社区基金", "fund"),
            ("地区", "region"), ("单笔上限", "amount"), ("小急难", "fund"),
            ("学年", "first_year"), ("年数", "years"), ("受益人", "beneficiary"),
            ("金额", "amount"), ("标题", "title"))


def _refused(form, exc: UserError) -> None:
    name = next((field for word, field in FIELD_OF if word in exc.msgid
                 and hasattr(form, field)), None)
    show_error(form, exc, name)


def _holders(form, organisation: Organisation) -> None:
    from flask_babel import gettext

    holders = fundraising.qualified_holders(db_session(), organisation)
    form.holder.choices = [(o.id, o.name + (gettext("（本机构）") if o.id == organisation.id
                                            else "")) for o in holders]


def _page(template: str, form, organisation: Organisation):
    status = 422 if request.method == "POST" else 200
    return render_template(template, form=form, organisation=organisation,
                           qualified=fundraising.is_qualified(organisation)), status


def _load(organisation_id: int) -> Organisation:
    return organisation_or_404(organisation_id)


@bp.route("/<int:organisation_id>/needs/new-project", methods=["GET", "POST"])
@requires("need.create", load=_load)
def new_project(organisation_id: int, target: Organisation):
    form = ProjectForm()
    _holders(form, target)
    if request.method == "GET":
        form.region.data = target.region
    if form.validate_on_submit():
        try:
            need = post_kinds.post_project(
                db_session(), target, current_user.id, key=form.key.data,
                title=form.title.data, amount=form.amount.money, category=form.category.data,
                region=form.region.data, period_start=form.period_start.data,
                period_end=form.period_end.data, budget=list(form.budget_lines),
                holder_id=form.holder.data, filing=form.filing.data,
                story=form.story.data or "", people=form.people.data,
                milestones=list(form.milestone_lines))
        except UserError as exc:
            _refused(form, exc)
        else:
            return redirect(url_for("charity.need", code=need.code), code=303)
    return _page("charity/new_project.html", form, target)


@bp.route("/<int:organisation_id>/needs/new-sponsorship", methods=["GET", "POST"])
@requires("need.create", load=_load)
def new_sponsorship(organisation_id: int, target: Organisation):
    form = SponsorshipForm()
    form.beneficiary.choices = beneficiary_choices(organisation_id, with_new=True)
    _holders(form, target)
    if request.method == "GET":
        form.region.data = target.region
    if form.validate_on_submit():
        needs = _post_sponsorship(form, target)
        if needs:
            return redirect(url_for("charity.needs", organisation_id=target.id), code=303)
    return _page("charity/new_sponsorship.html", form, target)


def _post_sponsorship(form: SponsorshipForm, organisation: Organisation):
    session = db_session()
    again = posting.need_for_key(session, form.key.data)
    if again is not None:
        return [again]  # the same form sent twice: the needs the first send made
    person = chosen_beneficiary(form, organisation)
    if person is None:
        return None
    try:
        return post_kinds.post_sponsorship(
            session, organisation, current_user.id, key=form.key.data, title=form.title.data,
            beneficiary=person, first_year=form.first_year.data, years=form.years.data,
            per_year=form.per_year.money, region=form.region.data, holder_id=form.holder.data,
            filing=form.filing.data, story=form.story.data or "")
    except UserError as exc:
        _refused(form, exc)
        return None


@bp.route("/<int:organisation_id>/needs/new-microgrant", methods=["GET", "POST"])
@requires("need.create", load=_load)
def new_microgrant(organisation_id: int, target: Organisation):
    from flask_babel import gettext

    session = db_session()
    form = MicrograntForm()
    form.fund.choices = [(f.id, f.name) for f in post_kinds.funds_for(session, target)]
    form.beneficiary.choices = [(MicrograntForm.NONE, gettext("不指定"))] + [
        (p.id, f"{p.pseudonym} · {p.code}") for p in posting.beneficiaries_of(session, target.id)]
    if request.method == "GET":
        form.region.data = target.region
    if form.validate_on_submit():
        try:
            person = (posting.own_beneficiary(session, target, form.beneficiary.data)
                      if form.beneficiary.data else None)
            need = post_kinds.post_microgrant(
                session, target, current_user.id, key=form.key.data, title=form.title.data,
                amount=form.amount.money, fund_id=form.fund.data, urgency=form.urgency.data,
                category=form.category.data, region=form.region.data,
                story=form.story.data or "", beneficiary=person)
        except UserError as exc:
            _refused(form, exc)
        else:
            return redirect(url_for("charity.need", code=need.code), code=303)
    return _page("charity/new_microgrant.html", form, target)
