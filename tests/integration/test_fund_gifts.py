"""Gifts to a community fund or to a programme's general fund, through the same bank
transfer path as gifts to a need: nothing in the ledger until staff confirm, then the
fund's account and balance rise once, and the receipt names the fund or programme."""
import io
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from pypdf import PdfReader
from sqlmodel import func, select

from core.db import get_engine, unit_of_work
from core.money import Money
from donors.bank_transfer import BankTransferGateway
from donors.fund_gifts import general_fund
from donors.gateway import BankAccount
from donors.giving import confirm_payment, reference_taken, start_fund_gift
from donors.giving_models import GiftPayment, GiftReceipt
from donors.models import Donation
from funds import ledger
from funds.models import CommunityFund, LedgerTxn
from needs import services as needs
from needs.models import Programme
from readside.reconcile import first_mismatch
from tests.conftest import make_app, require_postgres
from tests.integration.auth import make_user, sign_in
from tests.integration.helpers import committed, fund_with
from tests.integration.test_stripe_webhook import SECRET


def _fund(url):
    return committed(url, lambda s: fund_with(s, 50_000).code)


def _programme(url):
    return committed(url, lambda s: needs.create_programme(
        s, "yimi", "一米阳光", "山东省/滨州市", "民生定向捐助").code)


def _count(url, model, *where):
    with unit_of_work(get_engine(url)) as s:
        return s.exec(select(func.count()).select_from(model).where(*where)).one()


def _admin(app, url):
    client = app.test_client()
    sign_in(client, make_user(url, "finance@example.cn", ("admin", {})))
    return client


def _confirm_last(staff, url):
    with unit_of_work(get_engine(url)) as s:
        payment_id = s.exec(select(GiftPayment.id).order_by(GiftPayment.id.desc())).first()
    return staff.post(f"/staff/payments/{payment_id}/confirm")


def _pdf_text(url):
    with unit_of_work(get_engine(url)) as s:
        pdf = s.exec(select(GiftReceipt.pdf).order_by(GiftReceipt.id.desc())).first()
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def test_a_guest_gives_to_a_community_fund(clean_url):
    code = _fund(clean_url)
    app = make_app(clean_url)
    guest = app.test_client()
    page = guest.get(f"/disclosure/funds/{code}").get_data(as_text=True)
    assert f'action="/funds/{code}/give"' in page
    form = guest.get(f"/funds/{code}/give?amount=150.50").get_data(as_text=True)
    assert 'value="150.50"' in form
    txns = _count(clean_url, LedgerTxn)
    response = guest.post(f"/funds/{code}/give", data={
        "amount": "150.50", "name": "张三丰", "contact": "138 0013 8000"})
    assert response.status_code == 303
    html = guest.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(r'class="reference">SL-[0-9A-Z]{4}-[0-9A-Z]{4}<', html)
    assert "齐明社区基金" in html and "¥150.50" in html
    assert _count(clean_url, LedgerTxn) == txns  # nothing before the money arrives

    staff = _admin(app, clean_url)
    assert "齐明社区基金" in staff.get("/staff/payments/").get_data(as_text=True)
    assert _confirm_last(staff, clean_url).status_code == 303
    again = _confirm_last(staff, clean_url)  # a double submit changes nothing
    assert again.status_code == 400 and "已经处理过了" in again.get_data(as_text=True)
    with unit_of_work(get_engine(clean_url)) as s:
        fund = s.exec(select(CommunityFund).where(CommunityFund.code == code)).one()
        donation = s.exec(select(Donation).where(Donation.fund_id == fund.id,
                                                 Donation.donor_id.is_not(None))).one()
        assert fund.balance == 50_000 + 15_050 and donation.status == "paid"
        assert ledger.verify(s).ok and first_mismatch(s) is None
    text = _pdf_text(clean_url)
    assert "齐明社区基金" in text and "壹佰伍拾元伍角" in text and "张**" in text
    public = guest.get(f"/disclosure/funds/{code}").get_data(as_text=True)
    assert "¥650.50" in public  # ¥500 + ¥150.50 on the fund's page at once


def test_a_donor_gives_to_a_programme_general_fund(clean_url):
    programme = _programme(clean_url)
    app = make_app(clean_url)
    donor = app.test_client()
    sign_in(donor, make_user(clean_url, "wang@example.cn", ("donor", {}), name="王小明"))
    page = donor.get(f"/disclosure/programmes/{programme}").get_data(as_text=True)
    assert f'action="/programmes/{programme}/give"' in page
    assert donor.get(f"/programmes/{programme}/give").status_code == 200
    assert _count(clean_url, CommunityFund) == 0  # a GET makes nothing
    staff = _admin(app, clean_url)
    for amount in ("200", "88.80"):
        response = donor.post(f"/programmes/{programme}/give", data={
            "amount": amount, "name": "王小明", "show_name": "y"})
        assert response.status_code == 303
        assert _confirm_last(staff, clean_url).status_code == 303
    with unit_of_work(get_engine(clean_url)) as s:
        [fund] = s.exec(select(CommunityFund)).all()  # one general fund for both gifts
        assert fund.programme_general and fund.balance == 28_880
        assert ledger.verify(s).ok and first_mismatch(s) is None
        number = s.exec(select(GiftReceipt.number).order_by(GiftReceipt.id)).first()
    assert "一米阳光 · 项目总基金" in _pdf_text(clean_url)
    mine = donor.get("/account/giving/").get_data(as_text=True)
    assert "一米阳光 · 项目总基金" in mine and mine.count('class="receipt-link"') == 2
    assert f'href="/disclosure/programmes/{programme}"' in mine
    public = app.test_client().get(f"/receipts/{number}").get_data(as_text=True)
    assert "一米阳光 · 项目总基金" in public and "王小明" in public  # they chose to be named
    assert "wang@example.cn" not in public


def test_bad_amounts_for_a_fund_are_refused_and_write_nothing(clean_url):
    code = _fund(clean_url)
    programme = _programme(clean_url)
    app = make_app(clean_url)
    guest = app.test_client()
    before = (_count(clean_url, Donation), _count(clean_url, CommunityFund))
    for target in (f"/funds/{code}/give", f"/programmes/{programme}/give"):
        for amount, message in (("abc", "不是有效金额"), ("0", "至少"), ("0.99", "至少"), ("12.345", "两位小数"),
                                ("", "请填写捐赠金额"), ("-5", "不能为负")):
            response = guest.post(target, data={"amount": amount, "name": "张三",
                                                "contact": "z@example.cn"})
            assert response.status_code == 422, (target, amount)
            if message:
                assert message in response.get_data(as_text=True), (target, amount)
        missing_contact = guest.post(target, data={"amount": "10", "name": "张三"})
        assert missing_contact.status_code == 422
    assert (_count(clean_url, Donation), _count(clean_url, CommunityFund)) == before
    assert _count(clean_url, GiftPayment) == 0


def test_unknown_funds_and_programmes_are_404_and_only_staff_confirm(clean_url):
    code = _fund(clean_url)
    app = make_app(clean_url)
    guest = app.test_client()
    assert guest.get("/funds/NOPE-1/give").status_code == 404
    assert guest.post("/programmes/nope/give", data={"amount": "10", "name": "张三",
                                                     "contact": "z@example.cn"}).status_code == 404
    guest.post(f"/funds/{code}/give", data={"amount": "10", "name": "张三",
                                            "contact": "z@example.cn"})
    donor = app.test_client()
    sign_in(donor, make_user(clean_url, "d@example.cn", ("donor", {})))
    assert _confirm_last(donor, clean_url).status_code == 403
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.exec(select(GiftPayment.status)).one() == "awaiting"
        assert s.exec(select(CommunityFund.balance)).one() == 50_000


def test_first_gifts_to_a_programme_at_once_make_one_general_fund(clean_url):
    """The general fund is made on first use: concurrent first gifts share it (PostgreSQL:
    the UNIQUE index makes the losers find the winner's row)."""
    require_postgres()
    programme = _programme(clean_url)
    account = BankAccount("善联慈善信息平台", "测试银行", "6222 0000 1111 2222")

    def give(i):
        with unit_of_work(get_engine(clean_url)) as s:
            target = s.exec(select(Programme).where(Programme.code == programme)).one()
            started = start_fund_gift(
                s, BankTransferGateway(account, is_taken=reference_taken(s)),
                general_fund(s, target), Money.yuan(10 + i), name=f"捐赠者{i}",
                contact=f"d{i}@example.cn")
            return confirm_payment(s, started.payment)

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(give, range(16)))
    assert outcomes == ["confirmed"] * 16
    with unit_of_work(get_engine(clean_url)) as s:
        [fund] = s.exec(select(CommunityFund)).all()
        assert fund.balance == sum(1_000 + 100 * i for i in range(16))
        assert ledger.verify(s).ok and first_mismatch(s) is None


@pytest.fixture
def stripe_secret(monkeypatch):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)


def _stripe_fund_gift(url, yuan="150") -> tuple[int, int]:
    from tests.integration.test_stripe_webhook import FakeCheckout

    with unit_of_work(get_engine(url)) as s:
        fund = fund_with(s, 50_000)
        started = start_fund_gift(s, FakeCheckout(), fund, Money.parse(yuan), name="张三",
                                  contact="z@example.cn",
                                  return_url=lambda gift: f"http://test/gifts/{gift}")
        assert started.start.redirect_url and started.payment.hold_until is None
        return started.donation.id, fund.id


def test_stripe_events_credit_a_fund_gift_once_in_any_order(clean_url, stripe_secret):
    from tests.integration.test_stripe_webhook import _events, _post

    gift, fund_id = _stripe_fund_gift(clean_url)
    client = make_app(clean_url).test_client()
    events = _events(gift)
    for name in ("succeeded", "completed", "completed", "succeeded", "expired"):
        assert _post(client, events[name]).status_code == 200
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(Donation, gift).status == "paid"
        assert s.get(CommunityFund, fund_id).balance == 50_000 + 15_000
        assert s.exec(select(GiftPayment.status)).one() == "confirmed"
        assert ledger.verify(s).ok and first_mismatch(s) is None


def test_an_expired_checkout_of_a_fund_gift_writes_no_money(clean_url, stripe_secret):
    from tests.integration.test_stripe_webhook import _events, _post

    gift, fund_id = _stripe_fund_gift(clean_url)
    txns = _count(clean_url, LedgerTxn)
    client = make_app(clean_url).test_client()
    assert _post(client, _events(gift)["expired"]).status_code == 200
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.exec(select(GiftPayment.status)).one() == "expired"
        assert s.get(Donation, gift).status == "pending"
        assert s.get(CommunityFund, fund_id).balance == 50_000
    assert _count(clean_url, LedgerTxn) == txns


def test_a_fund_gift_shows_the_grants_it_went_to_first_in_first_out(clean_url):
    from needs import transfers
    from tests.integration.helpers import fund_manager, org, verified_need

    code = _fund(clean_url)  # an enterprise gave ¥500 first
    app = make_app(clean_url)
    donor = app.test_client()
    sign_in(donor, make_user(clean_url, "wang@example.cn", ("donor", {})))
    donor.post(f"/funds/{code}/give", data={"amount": "150", "name": "王小明"})
    assert _confirm_last(_admin(app, clean_url), clean_url).status_code == 303

    def grant(s):
        fund = s.exec(select(CommunityFund).where(CommunityFund.code == code)).one()
        need = verified_need(s, org(s), kind="microgrant", amount=60_000, title="老人助餐")
        transfers.approve(s, transfers.propose_grant(s, fund, need, 60_000),
                          fund_manager(s, fund).id)
        return need.code
    need_code = committed(clean_url, grant)
    html = donor.get("/account/giving/").get_data(as_text=True)
    # The enterprise's ¥500 went first; ¥100 of this gift made up the ¥600 grant.
    assert f"{need_code} 老人助餐" in html and "¥100.00" in html and "¥50.00" in html
