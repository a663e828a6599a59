"""Organisation admins record a payout (拨付) of a funded need's money from the need's page
(core.policy "disbursement.record", checked against the need's organisation); its invoice
is then uploaded on the evidence page. The ledger service (needs.funding.disburse) moves the money."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import get_locale
from flask_login import current_user

from core.errors import UserError
from needs import funding
from needs.models import Need
from web.charity import need_context
from web.db import db_session
from web.forms.disbursement import DisbursementForm, paid_at
from web.loading import row_by_or_404
from web.permissions import requires

bp = Blueprint("charity_disbursement", __name__, url_prefix="/org")


def _need(code: str) -> Need:
    return row_by_or_404(db_session(), Need.code, code)


def need_page(need: Need, form: DisbursementForm, status: int):
    return render_template("charity/need.html", **need_context(need, disburse_form=form)), status


@bp.post("/needs/<code>/disburse")
@requires("disbursement.record", load=lambda code: _need(code))
def disburse(code: str, target: Need):
    form = DisbursementForm()
    if form.validate_on_submit():
        try:
            funding.disburse(db_session(), target, form.amount.money, form.paid_to.data.strip(),
                             (form.memo.data or "").strip(), actor_id=current_user.id,
                             key=form.key.data, paid_at=paid_at(form.paid_on.data))
        except UserError as exc:
            field = {"必须写明收款方": form.paid_to, "拨付日期不能晚于今天": form.paid_on}.get(
                exc.msgid, form.amount)
            field.errors = [*field.errors, exc.message(str(get_locale()))]
        else:
            return redirect(url_for("charity.need", code=code) + "#disbursements", code=303)
    return need_page(target, form, 422)
