"""Platform finance staff: the bank transfers still awaited, one-click confirmation of each,
and the bank statement upload that proposes which line paid which gift or pledge tranche
(confirmed in place, one click a line, through the same services as by hand)."""
from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user
from sqlalchemy import func
from sqlmodel import select

from core.errors import NotFound, UserError
from donors import services as donors
from donors.fund_gifts import target_of
from donors.giving import awaiting_payments, confirm_payment, expected_payments
from donors.giving_models import GiftPayment
from donors.models import Donation, PledgeTranche
from donors.statements import reconcile_file
from donors.tranche_payments import awaiting_tranches, expected_tranches
from web.db import db_session
from web.forms.giving import ConfirmForm, StatementForm
from web.loading import row_or_404
from web.permissions import requires

bp = Blueprint("payments", __name__, url_prefix="/staff/payments")


def payment_or_404(payment_id: int) -> GiftPayment:
    """A gift's payment by id (also the late-gift refund pages' loader, web.returns)."""
    return row_or_404(db_session(), GiftPayment, payment_id,
                      missing=lambda: NotFound("找不到这笔捐赠"))


def _rows(payments):
    db = db_session()
    rows = []
    for payment in payments:
        donation = db.get(Donation, payment.donation_id)
        rows.append((payment, donation, target_of(db, donation)))  # a need, fund or programme
    return rows


@bp.get("/")
@requires("payment.confirm")
def index():
    db = db_session()
    late = db.exec(select(func.count(GiftPayment.id)).where(GiftPayment.status == "late")).one()
    return render_template("giving/staff_payments.html",
                           rows=_rows(awaiting_payments(db)), late=late,
                           tranches=len(awaiting_tranches(db)),
                           confirm_form=ConfirmForm(), statement_form=StatementForm())


@bp.post("/<int:payment_id>/confirm")
@requires("payment.confirm", load=lambda payment_id: payment_or_404(payment_id))
def confirm(payment_id: int, target: GiftPayment):
    form = ConfirmForm()
    if not form.validate_on_submit():
        raise UserError("表单已过期，请刷新后重试")

    def act() -> str:
        if confirm_payment(db_session(), target, actor_id=current_user.id) == "confirmed":
            return gettext("已确认到账：%(reference)s", reference=target.reference)
        return gettext("%(reference)s 到账时该心愿已由他人认领：已记为待退款",
                       reference=target.reference)
    return _confirm(act)


def _load_tranche(tranche_id: int) -> PledgeTranche:
    return row_or_404(db_session(), PledgeTranche, tranche_id,
                      missing=lambda: NotFound("找不到这一期认捐"))


@bp.post("/tranches/<int:tranche_id>/confirm")
@requires("pledge.confirm_payment", load=lambda tranche_id: _load_tranche(tranche_id))
def confirm_tranche(tranche_id: int, target: PledgeTranche):
    """A statement line proposed for a pledge tranche, confirmed: the same service as on
    /matching/tranches (paid in through the ledger, matched from then on)."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        raise UserError("表单已过期，请刷新后重试")

    def act() -> str:
        donors.confirm_tranche(db_session(), target, current_user.id)
        return gettext("已确认认捐分期到账：%(reference)s",
                       reference=target.reference or f"#{target.seq}")
    return _confirm(act)


def _confirm(act: Callable[[], str]):
    """On the statement page (htmx) the line says what happened in place, refusals too, so
    staff go on down the list; otherwise back to the transfers awaited, with the message."""
    in_place = bool(request.headers.get("HX-Request"))
    try:
        message = act()
    except UserError as refused:
        if not in_place:
            raise
        return render_template("partials/statement_confirmed.html", refused=True,
                               message=refused.render(gettext)), 422
    if in_place:
        return render_template("partials/statement_confirmed.html", message=message)
    flash(message)
    return redirect(url_for("payments.index"), code=303)


@bp.post("/statement")
@requires("payment.confirm")
def statement():
    db = db_session()
    form = StatementForm()
    result = None
    if form.validate_on_submit():
        upload = form.statement.data
        try:
            result = reconcile_file(upload.read(), upload.filename or "",
                                    expected_payments(db) + expected_tranches(db))
        except UserError as exc:
            form.statement.errors.append(exc.message(str(get_locale())))
    status = 200 if result is not None else 422
    by_id = {p.id: (p, d, n) for p, d, n in _rows(awaiting_payments(db))}
    tranches = {t.id: (t, p) for t, p in awaiting_tranches(db)}
    return render_template("giving/statement.html", form=form, result=result, by_id=by_id,
                           tranches=tranches, confirm_form=ConfirmForm()), status
