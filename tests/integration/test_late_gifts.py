"""Money that arrives after its hold lapsed and the wish went to someone else: never credited
to the need; refunded (Stripe by a job, once; a bank transfer by staff) or, if the donor
chose that when giving, redirected to the programme's general fund."""
from datetime import timedelta

import pytest
from sqlmodel import select

from core import clock
from core.clock import now
from core.db import get_engine, unit_of_work
from core.notify import Notification
from donors.gateway import PaymentStart, RefundResult, RefundStatus, check_payment
from donors.giving_models import GiftPayment
from donors.late_gifts import refund_by_gateway
from donors.models import Donation
from funds import ledger
from funds.models import CommunityFund, LedgerTxn
from needs import services as needs
from needs.models import Need
from readside.reconcile import first_mismatch
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from tests.integration.helpers import committed, org, verified_need
from tests.integration.test_stripe_webhook import _events, _post


class FakeStripe:
    """Checkout and refunds without a network: every refund call is kept."""

    name = "stripe"

    def __init__(self, status=RefundStatus.SUCCEEDED):
        self.refunds = []
        self.status = status

    def create_payment(self, payment):
        check_payment(payment)
        return PaymentStart(provider="stripe", provider_ref=f"cs_test_{payment.gift_id}",
                            amount=payment.amount, redirect_url="https://checkout.test/x")

    def refund(self, payment_ref, amount, *, gift_id, idempotency_key):
        self.refunds.append((payment_ref, amount, gift_id, idempotency_key))
        return RefundResult(provider="stripe", refund_ref=f"re_{len(self.refunds)}",
                            amount=amount, status=self.status)

    def parse_webhook(self, payload, headers):
        raise AssertionError("not used")


def _wish(url) -> str:
    def build(s):
        programme = needs.create_programme(s, "P-HSHT", "海丝护童", "广西壮族自治区/北海市/合浦县")
        return verified_need(s, org(s), amount=15_000, title="一个新书包",
                             programme=programme).code
    return committed(url, build)


def _lapse_then_taken(url, app, wish, if_taken="refund", stripe=None) -> tuple[int, int]:
    """Donor A claims the wish and lets the hold lapse; donor B claims it and pays first.
    Returns (A's payment id, B's payment id)."""
    from jobs.tasks import release_expired_holds

    start = now()
    clock.set_now(start)
    data = {"name": "张三", "contact": "z@example.cn", "if_taken": if_taken}
    first = app.test_client().post(f"/needs/{wish}/give", data=data)
    assert first.status_code == 303, first.get_data(as_text=True)[:400]
    clock.set_now(start + timedelta(minutes=16))
    assert release_expired_holds(url) == 1
    second = app.test_client().post(f"/needs/{wish}/give",
                                    data={"name": "李四", "contact": "l@example.cn"})
    assert second.status_code == 303
    with unit_of_work(get_engine(url)) as s:
        a, b = s.exec(select(GiftPayment).order_by(GiftPayment.id)).all()
        assert a.if_taken == if_taken and b.if_taken == "refund"
        return a.id, b.id


def _staff(url, app):
    staff = app.test_client()
    sign_in(staff, make_user(url, "finance@example.cn", ("admin", {})))
    return staff


def _books_agree(url):
    with unit_of_work(get_engine(url)) as s:
        assert ledger.verify(s).ok
        assert first_mismatch(s) is None


def test_late_bank_money_is_refunded_by_staff_and_never_credited(clean_url):
    wish = _wish(clean_url)
    app = make_app(clean_url)
    late_id, winner_id = _lapse_then_taken(clean_url, app, wish)
    staff = _staff(clean_url, app)
    assert staff.post(f"/staff/payments/{winner_id}/confirm").status_code == 303
    assert staff.post(f"/staff/payments/{late_id}/confirm").status_code == 303
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(GiftPayment, late_id).status == "late"
        assert s.exec(select(Need).where(Need.code == wish)).one().funded == 15_000
        assert len(s.exec(select(LedgerTxn)).all()) == 1  # the winner's gift only
        notice = s.exec(select(Notification).where(Notification.kind == "gift_late_refund")).one()
        assert notice.email == "z@example.cn" and notice.params["amount"] == "¥150.00"

    page = staff.get("/staff/refunds/").get_data(as_text=True)
    assert f'id="late-{late_id}"' in page and "¥150.00" in page
    # A refund without its bank reference is refused and changes nothing.
    assert staff.post(f"/staff/refunds/late/{late_id}", data={"bank_ref": " "}).status_code == 400
    assert staff.post(f"/staff/refunds/late/{late_id}",
                      data={"bank_ref": "BANK-REFUND-77"}).status_code == 303
    with unit_of_work(get_engine(clean_url)) as s:
        payment = s.get(GiftPayment, late_id)
        assert (payment.status, payment.refund_ref) == ("refunded", "BANK-REFUND-77")
        assert s.get(Donation, payment.donation_id).status == "refunded"
    # The same form sent again: refused, nothing changes.
    again = staff.post(f"/staff/refunds/late/{late_id}", data={"bank_ref": "OTHER"})
    assert again.status_code == 400
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(GiftPayment, late_id).refund_ref == "BANK-REFUND-77"
    assert f'id="late-{late_id}"' not in staff.get("/staff/refunds/").get_data(as_text=True)
    _books_agree(clean_url)


def test_late_money_goes_to_the_general_fund_when_the_donor_chose_that(clean_url):
    wish = _wish(clean_url)
    app = make_app(clean_url)
    late_id, winner_id = _lapse_then_taken(clean_url, app, wish, if_taken="redirect")
    staff = _staff(clean_url, app)
    assert staff.post(f"/staff/payments/{winner_id}/confirm").status_code == 303
    assert staff.post(f"/staff/payments/{late_id}/confirm").status_code == 303
    with unit_of_work(get_engine(clean_url)) as s:
        payment = s.get(GiftPayment, late_id)
        donation = s.get(Donation, payment.donation_id)
        fund = s.get(CommunityFund, donation.fund_id)
        assert payment.status == "confirmed" and donation.need_id is None
        assert fund.programme_general and fund.balance == 15_000
        assert donation.status == "paid" and donation.ledger_seq is not None
        assert s.exec(select(Need).where(Need.code == wish)).one().funded == 15_000
        assert s.exec(select(Notification).where(
            Notification.kind == "gift_late_redirected")).one().params["fund"] == fund.name
    _books_agree(clean_url)


def test_late_stripe_money_is_refunded_once_by_the_job(clean_url, monkeypatch):
    import donors.gateway
    import web.giving

    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_test_secret")
    stripe = FakeStripe()
    monkeypatch.setattr(web.giving, "payment_gateway", lambda db: stripe)
    monkeypatch.setattr(donors.gateway, "gateway_from_env", lambda env=None: stripe)
    wish = _wish(clean_url)
    app = make_app(clean_url)
    late_id, winner_id = _lapse_then_taken(clean_url, app, wish)
    with unit_of_work(get_engine(clean_url)) as s:
        late_gift = s.get(GiftPayment, late_id).donation_id
        winner_gift = s.get(GiftPayment, winner_id).donation_id
    client = app.test_client()
    winner = _events(winner_gift)["completed"]
    winner["id"], winner["data"]["object"]["payment_intent"] = "evt_winner", "pi_winner"
    assert _post(client, winner).status_code == 200
    late = _events(late_gift)["completed"]
    late["data"]["object"]["payment_intent"] = "pi_late"
    for _ in range(3):  # delivered three times: one refund
        assert _post(client, late).status_code == 200
    assert stripe.refunds == [("pi_late", 15_000, late_gift,
                               f"shanlian-late-payment-{late_id}")]
    with unit_of_work(get_engine(clean_url)) as s:
        payment = s.get(GiftPayment, late_id)
        assert (payment.status, payment.refund_ref) == ("refunded", "re_1")
        assert refund_by_gateway(s, late_id, stripe) == "nothing_to_do"  # a retried job
    assert len(stripe.refunds) == 1
    _books_agree(clean_url)


def test_a_refused_stripe_refund_stays_late_for_staff_to_retry(clean_url, monkeypatch):
    import donors.gateway
    import web.giving
    import web.returns

    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", "whsec_test_secret")
    stripe = FakeStripe(status=RefundStatus.FAILED)
    monkeypatch.setattr(web.giving, "payment_gateway", lambda db: stripe)
    monkeypatch.setattr(donors.gateway, "gateway_from_env", lambda env=None: stripe)
    monkeypatch.setattr(web.returns, "_refund_gateway", lambda: stripe)
    wish = _wish(clean_url)
    app = make_app(clean_url)
    late_id, winner_id = _lapse_then_taken(clean_url, app, wish)
    with unit_of_work(get_engine(clean_url)) as s:
        gifts = [s.get(GiftPayment, i).donation_id for i in (winner_id, late_id)]
    client = app.test_client()
    for n, gift in enumerate(gifts):
        event = _events(gift)["completed"]
        event["id"] = f"evt_{n}"
        event["data"]["object"]["payment_intent"] = f"pi_{n}"
        assert _post(client, event).status_code == 200
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(GiftPayment, late_id).status == "late"  # the job failed: not refunded
    staff = _staff(clean_url, app)
    assert f'id="late-{late_id}"' in staff.get("/staff/refunds/").get_data(as_text=True)
    stripe.status = RefundStatus.SUCCEEDED
    assert staff.post(f"/staff/refunds/late/{late_id}/retry").status_code == 303
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(GiftPayment, late_id).status == "refunded"
    # A Stripe payment is never "refunded by hand" with a made-up bank reference.
    assert staff.post(f"/staff/refunds/late/{late_id}",
                      data={"bank_ref": "X"}).status_code == 400


@pytest.mark.parametrize("choice", ["", "keep", "redirect'; --"])
def test_a_bad_choice_is_refused_and_writes_nothing(clean_url, choice):
    wish = _wish(clean_url)
    app = make_app(clean_url)
    data = {"name": "张三", "contact": "z@example.cn", "if_taken": choice}
    response = app.test_client().post(f"/needs/{wish}/give", data=data)
    if choice == "":  # not chosen: the default (refund)
        assert response.status_code == 303
        return
    assert response.status_code == 422
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.exec(select(GiftPayment)).all() == []
        assert s.exec(select(Need).where(Need.code == wish)).one().hold_holder is None


def test_only_finance_staff_record_late_refunds(clean_url):
    wish = _wish(clean_url)
    app = make_app(clean_url)
    late_id, _ = _lapse_then_taken(clean_url, app, wish)
    donor = app.test_client()
    sign_in(donor, make_user(clean_url, "d@example.cn", ("donor", {})))
    assert donor.post(f"/staff/refunds/late/{late_id}",
                      data={"bank_ref": "X"}).status_code == 403
    assert donor.post(f"/staff/refunds/late/{late_id}/retry").status_code == 403
    assert app.test_client().post(f"/staff/refunds/late/{late_id}/retry").status_code == 302
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(GiftPayment, late_id).status == "expired"


def test_the_give_page_offers_the_choice_for_a_whole_wish_only(clean_url):
    def build(s):
        organisation = org(s)
        return (verified_need(s, organisation, amount=15_000).code,
                verified_need(s, organisation, kind="project", amount=90_000).code)
    wish, project = committed(clean_url, build)
    client = make_app(clean_url).test_client()
    assert 'name="if_taken"' in client.get(f"/needs/{wish}/give").get_data(as_text=True)
    assert 'name="if_taken"' not in client.get(f"/needs/{project}/give").get_data(as_text=True)
    english = client.get(f"/needs/{wish}/give?lang=en").get_data(as_text=True)
    assert "general fund" in english

