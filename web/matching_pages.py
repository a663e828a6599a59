"""The matching side of the site: an enterprise's pledges, dashboard, report-back PDF and
proposals to review; a fund manager's grant queue; matching runs (admins start them, the
run's page polls its progress). Routes parse, call one service, render."""
from __future__ import annotations

import json

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlmodel import select

from core import outbox
from core.clock import now
from core.errors import UserError
from core.regions import county_display
from donors import matching_runs, proposals, tranche_payments
from donors import services as donors
from donors.bank_transfer import BankTransferGateway
from donors.models import Enterprise, Pledge, PledgeTranche
from donors.report_back import MapCell, ReportLine, report_back_pdf
from funds.models import Allocation, CommunityFund, MatchRun
from needs import transfers
from needs.grant_rules import approval_count, approvals_needed, fast_path_limit
from needs.models import Need, Organisation
from readside.enterprise_money import enterprise_money, open_proposals
from web.db import db_session
from web.forms.matching import PledgeForm, ReasonForm
from web.giving import bank_gateway
from web.loading import row_or_404
from web.money_map import money_map
from web.permissions import requires

enterprise_bp = Blueprint("enterprise", __name__, url_prefix="/enterprise")
RUN_STATUS = {"queued": _l("排队中"), "running": _l("运行中"), "proposed": _l("已提出匹配提议"),
              "dry_run": _l("试运行完成（未写提议）"), "invalid": _l("结果未通过校验"),
              "failed": _l("运行失败")}
fund_bp = Blueprint("fund_queue", __name__, url_prefix="/funds")
runs_bp = Blueprint("matching_runs", __name__, url_prefix="/matching")


@enterprise_bp.app_template_filter("run_status")
def run_status(status: str) -> str:
    return str(RUN_STATUS.get(status, status))


def _enterprise(enterprise_id, **_):
    return row_or_404(db_session(), Enterprise, enterprise_id)


def _fund(fund_id, **_):
    return row_or_404(db_session(), CommunityFund, fund_id)


def _reason() -> str:
    form = ReasonForm()
    form.validate()
    return (form.reason.data or "").strip()


# ---- enterprises ---------------------------------------------------------------------

@enterprise_bp.get("/<int:enterprise_id>/")
@requires("pledge.view", load=_enterprise)
def dashboard(enterprise_id: int, target: Enterprise):
    session = db_session()
    report = enterprise_money(session, target)
    tranches = {p.pledge.id: donors.tranches_of(session, p.pledge) for p in report.pledges}
    quoted = any(t.reference and not t.paid_at for ts in tranches.values() for t in ts)
    return render_template("matching/enterprise.html", enterprise=target, report=report,
                           tranches=tranches, money_map=money_map(report),
                           account=_bank().account if quoted else None, form=ReasonForm())


def _bank() -> BankTransferGateway:
    """The platform's receiving account, as for donors' bank transfers (a 503 with the
    reason when none is configured)."""
    return bank_gateway(db_session())


@enterprise_bp.post("/<int:enterprise_id>/tranches/<int:tranche_id>/pay")
@requires("pledge.pay", load=_enterprise)
def pay_tranche(enterprise_id: int, tranche_id: int, target: Enterprise):
    """Pay a tranche by bank transfer: a reference code to quote, shown on the dashboard."""
    tranche = row_or_404(db_session(), PledgeTranche, tranche_id)
    if db_session().get(Pledge, tranche.pledge_id).enterprise_id != target.id:
        abort(404)
    tranche_payments.pay_by_transfer(db_session(), _bank(), tranche, current_user.id)
    return redirect(url_for("enterprise.dashboard", enterprise_id=target.id,
                            _anchor=f"tranche-{tranche.id}"), code=303)


@enterprise_bp.route("/<int:enterprise_id>/pledges/new", methods=["GET", "POST"])
@requires("pledge.create", load=_enterprise)
def new_pledge(enterprise_id: int, target: Enterprise):
    form = PledgeForm()
    if request.method == "POST" and ("region_next" in request.form
                                     or "region_add" in request.form):
        # The region picker without JavaScript: show the next level, or keep the region
        # picked and start another; nothing is checked or written yet.
        if "region_add" in request.form:
            form.add_pick()
        return _pledge_page(form, target, 200)
    if form.validate_on_submit():
        try:
            donors.create_pledge(
                db_session(), target, form.budget_fen, title=form.title.data.strip(),
                categories=form.categories.data or [], regions=form.chosen_regions(),
                need_kinds=form.need_kinds.data or [], per_grant_cap=form.grant_cap_fen,
                per_beneficiary_cap=form.beneficiary_cap_fen,
                match_ratio_pct=form.match_ratio_pct.data, period_start=form.period_start.data,
                period_end=form.period_end.data, tranches=form.schedule or None)
        except UserError as error:
            form.form_errors.append(error.message(str(get_locale())))
        else:
            return redirect(url_for("enterprise.dashboard", enterprise_id=target.id), code=303)
    return _pledge_page(form, target, 422 if request.method == "POST" else 200)


def _pledge_page(form: PledgeForm, enterprise: Enterprise, status: int):
    return render_template("matching/pledge_form.html", form=form, enterprise=enterprise,
                           pick=form.pick()), status


@enterprise_bp.get("/<int:enterprise_id>/report.pdf")
@requires("pledge.view", load=_enterprise)
def report_pdf(enterprise_id: int, target: Enterprise):
    report = enterprise_money(db_session(), target)
    pdf = report_back_pdf(
        target.name, now().date().isoformat(),
        [("认捐总额 Budget", report.budget), ("已到账 Paid in", report.paid_in),
         ("已匹配 Allocated", report.allocated), ("已拨付 Disbursed", report.disbursed)],
        report.by_county,
        [ReportLine(f"{need.code} {need.title}", county_display(need.region), amount)
         for need, amount in report.needs],
        regions=[(place, [MapCell(c.name, c.allocated, c.disbursed, c.needs) for c in counties])
                 for place, counties in report.map_rows()])
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f"attachment; filename=report-{target.code}.pdf"})


@enterprise_bp.get("/<int:enterprise_id>/proposals")
@requires("match.review", load=_enterprise)
def enterprise_proposals(enterprise_id: int, target: Enterprise):
    rows = open_proposals(db_session(), target)
    runs = sorted({a.match_run_id for a, _n, _p in rows})
    return render_template("matching/proposals.html", enterprise=target, runs=runs,
                           rows=[(a, n, p, _why(a)) for a, n, p in rows], form=ReasonForm())


def _own_proposal(enterprise: Enterprise, proposal_id: int) -> Allocation:
    proposal = row_or_404(db_session(), Allocation, proposal_id)
    pledge = db_session().get(Pledge, proposal.pledge_id) if proposal.pledge_id else None
    if pledge is None or pledge.enterprise_id != enterprise.id:
        abort(404)
    return proposal


@enterprise_bp.post("/<int:enterprise_id>/proposals/<int:proposal_id>/accept")
@requires("match.review", load=_enterprise)
def accept_proposal(enterprise_id: int, proposal_id: int, target: Enterprise):
    proposals.accept(db_session(), _own_proposal(target, proposal_id), current_user.id,
                     _reason())
    return redirect(url_for("enterprise.enterprise_proposals", enterprise_id=target.id),
                    code=303)


@enterprise_bp.post("/<int:enterprise_id>/proposals/<int:proposal_id>/decline")
@requires("match.review", load=_enterprise)
def decline_proposal(enterprise_id: int, proposal_id: int, target: Enterprise):
    proposals.decline(db_session(), _own_proposal(target, proposal_id), current_user.id,
                      _reason())
    return redirect(url_for("enterprise.enterprise_proposals", enterprise_id=target.id),
                    code=303)


@enterprise_bp.post("/<int:enterprise_id>/runs/<int:run_id>/accept-all")
@requires("match.review", load=_enterprise)
def accept_all(enterprise_id: int, run_id: int, target: Enterprise):
    db = db_session()
    proposals.accept_all(db, row_or_404(db, MatchRun, run_id), current_user.id)
    return redirect(url_for("enterprise.enterprise_proposals", enterprise_id=target.id),
                    code=303)


# ---- community funds -----------------------------------------------------------------

@fund_bp.get("/<int:fund_id>/queue")
@requires("fund.view_queue", load=_fund)
def queue(fund_id: int, target: CommunityFund):
    session = db_session()
    rows = session.exec(select(Allocation, Need).join(Need, Need.id == Allocation.need_id)
                        .where(Allocation.fund_id == target.id,
                               Allocation.status == "proposed")
                        .order_by(Need.urgency.desc(), Allocation.id)).all()
    pending = [(a, n, approval_count(session, a), approvals_needed(target, a.amount), _why(a))
               for a, n in rows]
    fast = session.exec(select(Allocation, Need).join(Need, Need.id == Allocation.need_id)
                        .where(Allocation.fund_id == target.id,
                               Allocation.review_due.is_not(None),
                               Allocation.reviewed_at.is_(None))
                        .order_by(Allocation.review_due)).all()
    org_ids = {n.organisation_id for _a, n in rows}
    organisations = {o.id: o for o in session.exec(
        select(Organisation).where(Organisation.id.in_(org_ids or {0}))).all()}
    return render_template("matching/fund_queue.html", fund=target, pending=pending,
                           organisations=organisations,
                           fast=[(a, n, transfers.is_overdue(a)) for a, n in fast],
                           fast_limit=fast_path_limit(target), form=ReasonForm(),
                           threshold=target.second_approval_over)


def _fund_grant(fund: CommunityFund, grant_id: int) -> Allocation:
    grant = row_or_404(db_session(), Allocation, grant_id)
    if grant.fund_id != fund.id:
        abort(404)
    return grant


@fund_bp.post("/<int:fund_id>/grants/<int:grant_id>/approve")
@requires("grant.approve", load=_fund)
def approve(fund_id: int, grant_id: int, target: CommunityFund):
    if not _reason():
        raise UserError("请写明批准理由")
    transfers.approve(db_session(), _fund_grant(target, grant_id), current_user.id, _reason())
    return redirect(url_for("fund_queue.queue", fund_id=target.id), code=303)


@fund_bp.post("/<int:fund_id>/grants/<int:grant_id>/fast")
@requires("grant.approve", load=_fund)
def fast_track(fund_id: int, grant_id: int, target: CommunityFund):
    """The fast path: a small urgent grant paid now on one manager's word, reviewed later."""
    transfers.fast_track(db_session(), _fund_grant(target, grant_id), current_user.id,
                         _reason())
    return redirect(url_for("fund_queue.queue", fund_id=target.id), code=303)


@fund_bp.post("/<int:fund_id>/grants/<int:grant_id>/reject")
@requires("grant.reject", load=_fund)
def reject(fund_id: int, grant_id: int, target: CommunityFund):
    transfers.decline(db_session(), _fund_grant(target, grant_id), current_user.id, _reason())
    return redirect(url_for("fund_queue.queue", fund_id=target.id), code=303)


@fund_bp.post("/<int:fund_id>/grants/<int:grant_id>/review")
@requires("grant.review", load=_fund)
def review(fund_id: int, grant_id: int, target: CommunityFund):
    transfers.review_fast_grant(db_session(), _fund_grant(target, grant_id), current_user.id,
                                _reason())
    return redirect(url_for("fund_queue.queue", fund_id=target.id), code=303)


# ---- matching runs -------------------------------------------------------------------

@runs_bp.get("/runs")
@requires("matching.view")
def runs():
    rows = db_session().exec(select(MatchRun).order_by(MatchRun.id.desc()).limit(50)).all()
    return render_template("matching/runs.html", runs=rows)


@runs_bp.post("/runs")
@requires("matching.run")
def start_run():
    session = db_session()
    run = matching_runs.start_run(session, dry_run=request.form.get("dry_run") == "1")
    outbox.defer(session, "jobs.tasks.run_matching", run.id)
    return redirect(url_for("matching_runs.run_page", run_id=run.id), code=303)


def _run_view(run_id: int) -> dict:
    session = db_session()
    run = row_or_404(session, MatchRun, run_id)
    by_source: dict[str, list] = {}
    if run.status not in ("queued", "running"):
        rows = session.exec(select(Allocation, Need).join(Need, Need.id == Allocation.need_id)
                            .where(Allocation.match_run_id == run.id)
                            .order_by(Allocation.id)).all()
        pledges = {p.id: p for p in session.exec(select(Pledge)).all()} if rows else {}
        funds = {f.id: f for f in session.exec(select(CommunityFund)).all()} if rows else {}
        for allocation, need in rows:
            source = (pledges[allocation.pledge_id] if allocation.pledge_id
                      else funds[allocation.fund_id])
            key = f"{source.code} {getattr(source, 'title', '') or getattr(source, 'name', '')}"
            by_source.setdefault(key, []).append((allocation, need))
    ratio = None
    if run.objective and run.upper_bound and float(run.upper_bound) > 0:
        ratio = float(run.objective) / float(run.upper_bound)
    stranded = {s["source"] for s in (run.stats or {}).get("stranded_sources", [])}
    names = {}
    if stranded:  # the sources' names, so a person reads 齐明社区基金 rather than F-12
        names = dict(session.exec(select(Pledge.code, Pledge.title)
                                  .where(Pledge.code.in_(stranded))).all())
        names |= dict(session.exec(select(CommunityFund.code, CommunityFund.name)
                                   .where(CommunityFund.code.in_(stranded))).all())
    return {"run": run, "by_source": by_source, "ratio": ratio, "stats": run.stats,
            "source_names": names}


@runs_bp.get("/runs/<int:run_id>")
@requires("matching.view")
def run_page(run_id: int):
    return render_template("matching/run.html", **_run_view(run_id))


@runs_bp.get("/runs/<int:run_id>/progress")
@requires("matching.view")
def run_progress(run_id: int):
    return render_template("partials/match_run_progress.html", **_run_view(run_id))


@runs_bp.get("/tranches")
@requires("pledge.confirm_payment")
def tranches():
    return render_template("matching/tranches.html",
                           rows=tranche_payments.awaiting_tranches(db_session()))


@runs_bp.post("/tranches/<int:tranche_id>/confirm")
@requires("pledge.confirm_payment")
def confirm_tranche(tranche_id: int):
    db = db_session()
    donors.confirm_tranche(db, row_or_404(db, PledgeTranche, tranche_id), current_user.id)
    return redirect(url_for("matching_runs.tranches"), code=303)


def _why(allocation: Allocation) -> dict:
    try:
        return json.loads(allocation.why) if allocation.why else {}
    except ValueError:
        return {}

