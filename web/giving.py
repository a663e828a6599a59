"""The donor's pages: give to a need, the payment instructions (bank transfer: the account
and the reference code), the receipt download, and the public receipt lookup. Guests may
give, so these pages are public; a gift's own page is reached by a signed token, never by
a guessable id."""
from __future__ import annotations

import os

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer
from sqlmodel import select

from core.clock import aware, now
from core.errors import NotFound, ServiceUnavailable, UserError
from core.money import Money
from donors.bank_transfer import BankTransferGateway
from donors.fund_gifts import general_fund, target_of
from donors.gateway import BankAccount, PaymentGateway
from donors.giving import hold_minutes, reference_taken, start_fund_gift, start_gift
from donors.giving_models import GiftPayment
from donors.giving_receipts import public_receipt, receipt_for_payment
from donors.match_models import MatchOffer
from donors.match_offers import offers_for
from donors.models import Donation, Enterprise
from donors.receipts import beijing
from donors.statements import AMOUNT_AND_NAME, REFERENCE, REFERENCE_AMOUNT_DIFFERS
from donors.stripe_gateway import StripeGateway
from funds import transparency
from funds.models import CommunityFund
from needs.models import Need, Programme
from readside import gift_trails
from web.converters import CODE_PATTERN as CODE
from web.db import db_session
from web.forms.giving import GiveForm
from web.permissions import public

bp = Blueprint("give", __name__)

# Shown only when the app runs in debug or under tests without BANK_* set: plainly not a
# real account, so nobody could pay into it by mistake.
DEVELOPMENT_ACCOUNT = BankAccount("善联慈善信息平台（开发环境，请勿转账）", "开发环境示例银行",
                                  "0000 0000 0000 0000")
_RECEIPT_NUMBER = CODE


def bank_gateway(db) -> BankTransferGateway:
    try:
        return BankTransferGateway.from_env(os.environ, is_taken=reference_taken(db))
    except ValueError as missing:
        if current_app.debug or current_app.testing:
            return BankTransferGateway(DEVELOPMENT_ACCOUNT, is_taken=reference_taken(db))
        # Production without a receiving account (and without Stripe): say so, never a 500.
        current_app.logger.error("no way of paying is configured: %s", missing)
        raise ServiceUnavailable("平台尚未配置收款账户，暂时不能转账付款，请稍后再试") from None


def payment_gateway(db) -> PaymentGateway:
    """Stripe Checkout when STRIPE_SECRET_KEY is set; bank transfer otherwise."""
    if os.environ.get("STRIPE_SECRET_KEY"):
        return StripeGateway.from_env(os.environ)
    return bank_gateway(db)


def _return_url(donation_id: int) -> str:
    return url_for("give.gift", token=gift_token(donation_id), _external=True)


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="gift-payment")


def gift_token(donation_id: int) -> str:
    """The gift page's address: known before a payment starts (Stripe returns there)."""
    return _signer().dumps(donation_id)


def _payment_from(token: str) -> GiftPayment:
    try:
        donation_id = _signer().loads(token)
    except BadSignature:
        raise NotFound("找不到这笔捐赠") from None
    payment = db_session().exec(select(GiftPayment).where(
        GiftPayment.donation_id == donation_id)).first() if isinstance(donation_id, int) else None
    if payment is None:
        raise NotFound("找不到这笔捐赠")
    return payment


def _open_need(code: str) -> Need:
    if not CODE.match(code):
        raise NotFound("找不到该需求")
    need = db_session().exec(select(Need).where(Need.code == code)).first()
    if need is None or need.state != "verified":
        raise NotFound("该需求当前不能接受捐助")
    return need


def hold_shown(need: Need) -> bool:
    """"认领中": a live hold on the need (someone is paying for it now)."""
    return bool(need.hold_holder and need.hold_until and aware(need.hold_until) > now())


PAYMENT_STATUS = {"awaiting": _l("待到账"), "confirmed": _l("已确认到账"),
                  "expired": _l("保留已过期，待到账"), "late": _l("逾期到账，待退款"),
                  "refunded": _l("已退款")}
MATCH_REASON = {REFERENCE: _l("参考码一致"), REFERENCE_AMOUNT_DIFFERS: _l("参考码一致但金额不符"),
                AMOUNT_AND_NAME: _l("金额一致、付款人相近")}


@bp.app_context_processor
def _giving_helpers():
    return {"hold_shown": hold_shown, "hold_minutes": hold_minutes(),
            "pays_online": bool(os.environ.get("STRIPE_SECRET_KEY")),
            "match_offers_for": lambda need: offers_for(db_session(), need)}


@bp.app_template_filter("payment_status")
def _payment_status(status: str) -> str:
    return str(PAYMENT_STATUS.get(status, status))


@bp.app_template_filter("match_reason")
def _match_reason(reason: str) -> str:
    return str(MATCH_REASON.get(reason, reason))


@bp.app_template_filter("beijing_time")
def _beijing_time(moment) -> str:
    return f"{beijing(moment):%Y-%m-%d %H:%M}" if moment else ""


@bp.route("/needs/<code>/give", methods=["GET", "POST"])
@public
def give(code: str):
    db = db_session()
    need = _open_need(code)
    form = GiveForm()
    if request.method == "GET" and current_user.is_authenticated:
        form.name.data = form.name.data or current_user.name
    if form.validate_on_submit():
        try:
            amount = None if need.whole else Money.parse(form.amount.data or "")
            started = start_gift(
                db, payment_gateway(db), need, amount, return_url=_return_url, name=form.name.data,
                contact=form.contact.data or "", show_name=form.show_name.data,
                user_id=current_user.id if current_user.is_authenticated else None,
                if_taken=(form.if_taken.data or "refund") if need.whole else "refund")
        except UserError as exc:  # the request rolls back (web.db): nothing is written
            form.form_errors.append(exc.message(str(get_locale())))
        else:
            if started.start.redirect_url:  # Stripe Checkout's hosted page
                return redirect(started.start.redirect_url, code=303)
            return redirect(url_for("give.gift", token=gift_token(started.donation.id)),
                            code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("giving/give.html", need=need, form=form), status


def _start_fund_gift(fund_for, form: GiveForm):
    """Give to a fund (`fund_for()` finds or makes it only once the form is valid)."""
    db = db_session()
    text = (form.amount.data or "").strip()
    started = start_fund_gift(
        db, payment_gateway(db), fund_for(), Money.parse(text) if text else None,
        return_url=_return_url, name=form.name.data, contact=form.contact.data or "",
        show_name=form.show_name.data,
        user_id=current_user.id if current_user.is_authenticated else None)
    if started.start.redirect_url:  # Stripe Checkout's hosted page
        return redirect(started.start.redirect_url, code=303)
    return redirect(url_for("give.gift", token=gift_token(started.donation.id)), code=303)


def _give_to_fund(fund_for, title: str, back_url: str):
    form = GiveForm()
    if request.method == "GET":  # from the fund page's box: ?amount=…
        form.amount.data = (request.args.get("amount") or "")[:20]
        if current_user.is_authenticated:
            form.name.data = form.name.data or current_user.name
    if form.validate_on_submit():
        try:
            return _start_fund_gift(fund_for, form)
        except UserError as exc:  # the request rolls back (web.db): nothing is written
            form.form_errors.append(exc.message(str(get_locale())))
    status = 422 if request.method == "POST" else 200
    return render_template("giving/give_fund.html", form=form, title=title,
                           back_url=back_url), status


@bp.route("/funds/<code>/give", methods=["GET", "POST"])
@public
def give_fund(code: str):
    fund = db_session().exec(select(CommunityFund).where(CommunityFund.code == code)).first() \
        if CODE.match(code) else None
    if fund is None:
        raise NotFound("找不到社区基金 %(code)s", code=code[:40])
    return _give_to_fund(lambda: fund, fund.name, url_for("disclosure.fund", code=fund.code))


@bp.route("/programmes/<code>/give", methods=["GET", "POST"])
@public
def give_programme(code: str):
    db = db_session()
    programme = db.exec(select(Programme).where(Programme.code == code)).first() \
        if CODE.match(code) else None
    if programme is None:
        raise NotFound("找不到项目 %(code)s", code=code[:40])
    return _give_to_fund(lambda: general_fund(db, programme),
                         _("%(programme)s · 项目总基金", programme=programme.name),
                         url_for("disclosure.programme", code=programme.code))


@bp.get("/gifts/<token>")
@public
def gift(token: str):
    db = db_session()
    payment = _payment_from(token)
    donation = db.get(Donation, payment.donation_id)
    return render_template("giving/gift.html", payment=payment, donation=donation,
                           target=target_of(db, donation),
                           account=bank_gateway(db).account, token=token,
                           receipt=receipt_for_payment(db, payment),
                           proof=_proof(donation.ledger_seq))


@bp.get("/gifts/<token>/receipt.pdf")
@public
def receipt_download(token: str):
    receipt = receipt_for_payment(db_session(), _payment_from(token))
    if receipt is None:
        raise NotFound("收据尚未开具：款项确认后几分钟内生成")
    response = current_app.response_class(receipt.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{receipt.number}.pdf"'
    return response


@bp.get("/receipts/")
@public
def receipt_lookup():
    number = (request.args.get("number") or "").strip().upper()
    if number:
        if not _RECEIPT_NUMBER.match(number):
            raise UserError("收据编号格式不正确（例如 SL-2026-000481）")
        return redirect(url_for("give.receipt_public", number=number), code=303)
    return render_template("giving/receipt_lookup.html")


@bp.get("/receipts/<number>")
@public
def receipt_public(number: str):
    found = public_receipt(db_session(), number) if _RECEIPT_NUMBER.match(number) else None
    if found is None:
        raise NotFound("找不到收据 %(number)s", number=number[:40])
    return render_template("giving/receipt_public.html", r=found,
                           g=gift_trails.receipt_trail(db_session(), number),
                           proof=_proof(found.ledger_seq))


def _proof(seq: int | None) -> transparency.TransactionProof | None:
    """The gift's ledger transaction and its inclusion proof against the latest signed
    checkpoint (issue 13: the donor sees that the record cannot be quietly rewritten)."""
    return transparency.transaction_proof(db_session(), seq) if seq else None


def _offer(code: str) -> MatchOffer:
    offer = db_session().exec(select(MatchOffer).where(MatchOffer.code == code)).first() \
        if CODE.match(code) else None
    if offer is None or offer.status not in ("approved", "closed"):
        raise NotFound("找不到该配捐")
    return offer


@bp.get("/match-offers/<code>")
@public
def match_offer(code: str):
    offer = _offer(code)
    return render_template("giving/match_offer.html", offer=offer,
                           enterprise=db_session().get(Enterprise, offer.enterprise_id))


@bp.get("/match-offers/<code>/meter")
@public
def match_meter(code: str):
    """The live "配捐剩余 ¥x" (htmx polls it; also a plain fragment without htmx)."""
    return render_template("partials/match_meter.html", offer=_offer(code))
