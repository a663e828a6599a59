"""The donor's decision on a gift whose need closed (from their account, or by the signed
link mailed to a guest), their notices, and the staff page that records bank refunds."""
from __future__ import annotations

import os

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from core import notify
from core.errors import NotFound, UserError
from core.tokens import TokenError, return_id
from donors import late_gifts, returns
from donors.giving_models import GiftPayment
from donors.models import Donation
from donors.stripe_gateway import StripeGateway
from needs.models import Need
from web.db import db_session
from web.forms.giving import BankRefundForm, ConfirmForm, ReturnForm
from web.loading import row_or_404
from web.payments_admin import payment_or_404
from web.permissions import public, requires, signed_in

bp = Blueprint("returns", __name__)


def _form(case, choices) -> ReturnForm:
    form = ReturnForm()
    options = [(f"need:{n.code}", f"{n.code} {n.title}") for n in choices.needs]
    options += [(f"fund:{f.code}", f.name) for f in choices.funds]
    options.append(("refund", gettext("退款给我")))
    form.target.choices = options
    return form


def _refund_gateway():
    """Stripe, for a card/Alipay/WeChat gift's refund; a bank transfer needs no gateway."""
    if os.environ.get("STRIPE_SECRET_KEY"):
        return StripeGateway.from_env(os.environ)
    return None


def _decision_page(case_id: int, user_id: int | None, done_url: str):
    db = db_session()
    case = row_or_404(db, returns.GiftReturn, case_id,
                      missing=lambda: NotFound("找不到这笔待处理的捐款"))
    choices = returns.choices_for(db, case)
    form = _form(case, choices)
    status = 200
    if form.is_submitted():
        status = 422
        if case.status != "open":  # a second click, or a choice made elsewhere meanwhile
            form.form_errors.append(gettext("这笔捐款已经处理过了"))
            status = 409
        elif form.validate():
            try:
                returns.decide(db, case.id, form.target.data, _refund_gateway(),
                               actor_id=user_id)
            except UserError as exc:  # rolls back (web.db): nothing changed
                form.form_errors.append(exc.message(str(get_locale())))
                status = 409 if "已经处理过" in exc.msgid else 422
            else:
                flash(gettext("已记下您的选择，谢谢。"))
                return redirect(done_url, code=303)
    return render_template("giving/return.html", case=case, choices=choices, form=form,
                           need=db.get(Need, case.need_id),
                           donation=db.get(Donation, case.donation_id)), status


@bp.route("/account/returns/<int:case_id>", methods=["GET", "POST"])
@signed_in
def mine(case_id: int):
    returns.case_of_user(db_session(), case_id, current_user.id)  # anyone else's: 404
    return _decision_page(case_id, current_user.id,
                          url_for("returns.mine", case_id=case_id))


@bp.route("/returns/<token>", methods=["GET", "POST"])
@public
def by_link(token: str):
    try:
        case_id = return_id(current_app.config["SECRET_KEY"], token)
    except TokenError:
        raise NotFound("链接无效或已被使用") from None
    user_id = current_user.id if current_user.is_authenticated else None
    return _decision_page(case_id, user_id, url_for("returns.by_link", token=token))


@bp.post("/account/notices/read")
@signed_in
def notices_read():
    if not ConfirmForm().validate_on_submit():
        raise UserError("表单已过期，请刷新后重试")
    notify.mark_read(db_session(), current_user.id)
    return redirect(url_for("accounts.home") + "#notices", code=303)


@bp.get("/staff/refunds/")
@requires("refund.record")
def staff_refunds():
    db = db_session()
    rows = [(case, db.get(Need, case.need_id), returns.payment_of(db, case))
            for case in returns.awaiting_refunds(db)]
    late = [(payment, db.get(Donation, payment.donation_id))
            for payment in late_gifts.late_payments(db)]
    return render_template("giving/staff_refunds.html", rows=rows, late=late,
                           form=BankRefundForm(), retry_form=ConfirmForm())


@bp.post("/staff/refunds/late/<int:payment_id>")
@requires("refund.record", load=lambda payment_id: payment_or_404(payment_id))
def record_late_refund(payment_id: int, target: GiftPayment):
    """A late bank transfer sent back by staff: its bank reference."""
    form = BankRefundForm()
    if not form.validate_on_submit():
        raise UserError("请填写退款的银行流水号")
    late_gifts.record_bank_refund(db_session(), target.id, form.bank_ref.data,
                                  actor_id=current_user.id)
    flash(gettext("已记录退款：%(reference)s", reference=target.reference))
    return redirect(url_for("returns.staff_refunds"), code=303)


@bp.post("/staff/refunds/late/<int:payment_id>/retry")
@requires("refund.record", load=lambda payment_id: payment_or_404(payment_id))
def retry_late_refund(payment_id: int, target: GiftPayment):
    """Ask Stripe again for a late payment's refund (the job's own retries gave up)."""
    if not ConfirmForm().validate_on_submit():
        raise UserError("表单已过期，请刷新后重试")
    gateway = _refund_gateway()
    if gateway is None:
        raise UserError("未配置 Stripe，无法自动退款")
    late_gifts.refund_by_gateway(db_session(), target.id, gateway)
    flash(gettext("已退款：%(reference)s", reference=target.reference))
    return redirect(url_for("returns.staff_refunds"), code=303)


@bp.post("/staff/refunds/<int:case_id>")
@requires("refund.record")
def record_refund(case_id: int):
    form = BankRefundForm()
    if not form.validate_on_submit():
        raise UserError("请填写退款的银行流水号")
    case = returns.record_bank_refund(db_session(), case_id, form.bank_ref.data,
                                      actor_id=current_user.id)
    flash(gettext("已记录退款：%(amount)s", amount=_money(case.amount)))
    return redirect(url_for("returns.staff_refunds"), code=303)


def _money(fen: int) -> str:
    from core.money import Money

    return Money.fen(fen).format()


RETURN_STATUS = {"open": _l("待您选择"), "awaiting_refund": _l("已申请退款，等待平台转账"),
                 "redirected": _l("已转捐"), "refunded": _l("已退款"),
                 "defaulted": _l("逾期未选择，已转入通用基金")}


@bp.app_template_filter("return_status")
def _return_status(status: str) -> str:
    return str(RETURN_STATUS.get(status, status))


@bp.app_template_filter("return_cause")
def _return_cause(cause: str) -> str:
    return gettext(notify.CAUSES[cause]) if cause in notify.CAUSES else cause
