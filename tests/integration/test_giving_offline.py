"""The bank-transfer path through the web: give (guest or signed in, named or masked), the
reference code and account, a hold with "认领中", staff confirmation, the receipt."""
import io
import re
from datetime import timedelta

from pypdf import PdfReader
from sqlmodel import func, select

from core import clock
from core.clock import now
from core.db import get_engine, unit_of_work
from donors.giving_models import GiftPayment, GiftReceipt
from donors.models import Donation, Donor
from funds import ledger
from funds.models import LedgerTxn
from needs.models import Need
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from tests.integration.helpers import committed, org, verified_need


def _needs(url):
    def build(s):
        organisation = org(s)
        wish = verified_need(s, organisation, amount=15_000, title="一个新书包")
        project = verified_need(s, organisation, kind="project", amount=100_000, title="图书角")
        return wish.code, project.code
    return committed(url, build)


def _count(url, model):
    with unit_of_work(get_engine(url)) as s:
        return s.exec(select(func.count()).select_from(model)).one()


def _gift_page(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return response.headers["Location"]


def test_a_guest_claims_a_wish_staff_confirm_and_the_receipt_is_issued(clean_url):
    wish, _ = _needs(clean_url)
    app = make_app(clean_url)
    guest = app.test_client()
    page = guest.get(f"/needs/{wish}/give")
    assert page.status_code == 200 and "¥150.00" in page.get_data(as_text=True)

    location = _gift_page(guest.post(f"/needs/{wish}/give", data={
        "name": "张三丰", "contact": "138 0013 8000"}))
    html = guest.get(location).get_data(as_text=True)
    reference = re.search(r'class="reference">(SL-[0-9A-Z]{4}-[0-9A-Z]{4})<', html).group(1)
    assert "¥150.00" in html and "开发环境" in html
    assert _count(clean_url, LedgerTxn) == 0  # nothing in the ledger before the money arrives

    need_page = app.test_client().get(f"/needs/{wish}").get_data(as_text=True)
    assert "认领中" in need_page and "认领这个心愿" not in need_page
    other = app.test_client().post(f"/needs/{wish}/give", data={"name": "李四",
                                                                  "contact": "li@example.cn"})
    assert other.status_code == 422 and "认领中" in other.get_data(as_text=True)
    assert _count(clean_url, Donation) == 1  # the refused claim wrote nothing

    staff = app.test_client()
    sign_in(staff, make_user(clean_url, "finance@example.cn", ("admin", {})))
    listing = staff.get("/staff/payments/").get_data(as_text=True)
    assert reference in listing and "张三丰" in listing
    with unit_of_work(get_engine(clean_url)) as s:
        payment_id = s.exec(select(GiftPayment.id)).one()
    assert staff.post(f"/staff/payments/{payment_id}/confirm").status_code == 303

    with unit_of_work(get_engine(clean_url)) as s:
        need = s.exec(select(Need).where(Need.code == wish)).one()
        assert (need.funded, need.state, need.hold_holder) == (15_000, "funded", None)
        donation = s.exec(select(Donation)).one()
        assert donation.status == "paid" and donation.payment_ref == reference
        assert ledger.verify(s).ok
        receipt = s.exec(select(GiftReceipt)).one()  # issued by the job after the commit
        txn = s.get(LedgerTxn, donation.ledger_seq)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.pdf)).pages)
    assert "壹佰伍拾元整" in text and "张**" in text and txn.hash in text.replace("\n", "")

    gift_html = guest.get(location).get_data(as_text=True)
    assert receipt.number in gift_html
    pdf = guest.get(f"{location}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.data == receipt.pdf
    public = app.test_client().get(f"/receipts/{receipt.number}").get_data(as_text=True)
    assert "张**" in public and "张三丰" not in public and "138" not in public
    assert txn.hash in public
    # The receipt pages show the transaction's inclusion proof once a checkpoint covers it
    # (issue 13), and say so plainly before that.
    assert "尚未被签名覆盖" in public
    from funds import checkpoints
    from funds.checkpoints import TlogConfig
    from funds.signed_note import Signer

    signer = Signer.generate("test.example/ledger")
    app.config["TLOG"] = TlogConfig(origin="test.example/ledger", signing_key=signer.encode())
    with unit_of_work(get_engine(clean_url)) as s:
        checkpoints.issue(s, app.config["TLOG"])
    for page in (app.test_client().get(f"/receipts/{receipt.number}"), guest.get(location)):
        html = page.get_data(as_text=True)
        assert "这证明了什么" in html and "本站已按 RFC 9162 重算：证明成立" in html
        assert f"/disclosure/proof/inclusion?seq={txn.seq}&amp;size=1" in html
    assert str(signer.verifier) in app.test_client().get(f"/receipts/{receipt.number}").text
    english = app.test_client().get(f"/receipts/{receipt.number}?lang=en").get_data(as_text=True)
    assert "What this proves" in english
    # Confirming twice is refused and changes nothing.
    assert staff.post(f"/staff/payments/{payment_id}/confirm").status_code == 400
    assert _count(clean_url, LedgerTxn) == 1


def test_a_signed_in_donor_gives_a_named_amount_to_a_project(clean_url):
    _, project = _needs(clean_url)
    app = make_app(clean_url)
    client = app.test_client()
    sign_in(client, make_user(clean_url, "donor@example.cn", ("donor", {}), name="王小明"))
    _gift_page(client.post(f"/needs/{project}/give", data={
        "name": "王小明", "amount": "150.50", "show_name": "y"}))
    with unit_of_work(get_engine(clean_url)) as s:
        donation = s.exec(select(Donation)).one()
        donor = s.get(Donor, donation.donor_id)
        assert donation.amount == 15_050 and donation.status == "pending"
        assert donor.show_name and donor.user_id is not None
        assert s.exec(select(Need).where(Need.code == project)).one().hold_holder is None


def test_bad_input_is_refused_with_a_message_and_writes_nothing(clean_url):
    wish, project = _needs(clean_url)
    client = make_app(clean_url).test_client()
    cases = [
        (project, {"name": "张三", "amount": "0.5", "contact": "a@b.cn"}, "至少 ¥1.00"),
        (project, {"name": "张三", "amount": "12.345", "contact": "a@b.cn"}, None),
        (project, {"name": "张三", "amount": "abc", "contact": "a@b.cn"}, None),
        (project, {"name": "张三", "amount": "2000", "contact": "a@b.cn"}, "¥1,000.00"),
        (project, {"name": "张三", "amount": "10"}, "手机号或电子邮箱"),
        (project, {"name": "张三", "amount": "10", "contact": "12345"}, "不是有效的"),
        (wish, {"name": "", "contact": "a@b.cn"}, "请填写姓名"),
    ]
    for code, data, message in cases:
        response = client.post(f"/needs/{code}/give", data=data)
        assert response.status_code == 422, data
        if message:
            assert message in response.get_data(as_text=True), (data, message)
    assert _count(clean_url, Donation) == 0 and _count(clean_url, GiftPayment) == 0
    english = client.post(f"/needs/{project}/give?lang=en",
                          data={"name": "张三", "amount": "0.5", "contact": "a@b.cn"})
    assert "at least ¥1.00" in english.get_data(as_text=True)
    assert client.get("/needs/NOPE-1/give").status_code == 404
    assert client.get("/gifts/not-a-token").status_code == 404


def test_a_lapsed_hold_is_released_by_the_job_and_late_money_is_kept_for_refund(clean_url):
    wish, _ = _needs(clean_url)
    app = make_app(clean_url)
    start = now()
    clock.set_now(start)
    _gift_page(app.test_client().post(f"/needs/{wish}/give",
                                      data={"name": "张三", "contact": "z@example.cn"}))
    from jobs.tasks import release_expired_holds

    clock.set_now(start + timedelta(minutes=14))
    assert release_expired_holds(clean_url) == 0  # still held
    clock.set_now(start + timedelta(minutes=15, seconds=1))
    assert release_expired_holds(clean_url) == 1
    with unit_of_work(get_engine(clean_url)) as s:
        need = s.exec(select(Need).where(Need.code == wish)).one()
        assert need.hold_holder is None
        assert s.exec(select(GiftPayment)).one().status == "expired"
    # Someone else claims the freed wish and pays first.
    _gift_page(app.test_client().post(f"/needs/{wish}/give",
                                      data={"name": "李四", "contact": "l@example.cn"}))
    staff = app.test_client()
    sign_in(staff, make_user(clean_url, "finance@example.cn", ("admin", {})))
    with unit_of_work(get_engine(clean_url)) as s:
        first, second = s.exec(select(GiftPayment).order_by(GiftPayment.id)).all()
    assert staff.post(f"/staff/payments/{second.id}/confirm").status_code == 303
    # The first donor's money arrives late: kept aside for a refund, not credited.
    assert staff.post(f"/staff/payments/{first.id}/confirm").status_code == 303
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(GiftPayment, first.id).status == "late"
        assert s.exec(select(Need).where(Need.code == wish)).one().funded == 15_000
        assert len(s.exec(select(LedgerTxn)).all()) == 1


def test_only_finance_staff_see_and_confirm_payments(clean_url):
    wish, _ = _needs(clean_url)
    app = make_app(clean_url)
    _gift_page(app.test_client().post(f"/needs/{wish}/give",
                                      data={"name": "张三", "contact": "z@example.cn"}))
    donor = app.test_client()
    sign_in(donor, make_user(clean_url, "d@example.cn", ("donor", {})))
    assert donor.get("/staff/payments/").status_code == 403
    assert donor.post("/staff/payments/1/confirm").status_code == 403
    assert app.test_client().post("/staff/payments/1/confirm").status_code == 302
    assert _count(clean_url, LedgerTxn) == 0


def test_the_give_page_names_the_way_of_paying_that_is_configured(clean_url, monkeypatch):
    wish, _ = _needs(clean_url)
    client = make_app(clean_url).test_client()
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)
    offline = client.get(f"/needs/{wish}/give").get_data(as_text=True)
    assert "银行转账（对公转账）" in offline and "认领并转账" in offline
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_x")
    online = client.get(f"/needs/{wish}/give").get_data(as_text=True)
    assert "Stripe 安全收银台" in online and "认领并付款" in online
    assert "银行转账（对公转账）" not in online


def test_without_a_way_of_paying_production_says_so_instead_of_a_500(clean_url, monkeypatch):
    """Neither Stripe keys nor the platform's bank account set, outside debug and tests: a
    gift cannot start, and the visitor reads why beside the form (a pledge tranche: a 503
    page), in their language; nothing is written. A bug elsewhere is our own 500 page, never
    Werkzeug's."""
    for name in ("STRIPE_SECRET_KEY", "BANK_ACCOUNT_NAME", "BANK_NAME", "BANK_ACCOUNT_NUMBER"):
        monkeypatch.delenv(name, raising=False)
    _wish, project = _needs(clean_url)
    app = make_app(clean_url)
    app.config.update(TESTING=False)
    client = app.test_client()
    response = client.post(f"/needs/{project}/give", data={
        "name": "王芳", "contact": "13800138000", "amount": "50"})
    assert response.status_code == 422  # the form again, with the reason
    assert "平台尚未配置收款账户" in response.get_data(as_text=True)
    english = client.post(f"/needs/{project}/give?lang=en", data={
        "name": "王芳", "contact": "13800138000", "amount": "50"})
    assert english.status_code == 422 and "not configured" in english.get_data(as_text=True)
    assert _count(clean_url, Donation) == 0

    import web.giving

    def broken(*_args):
        raise RuntimeError("a bug")
    monkeypatch.setattr(web.giving, "public_receipt", broken)
    crash = client.get("/receipts/SL-2026-000001")
    assert crash.status_code == 500
    html = crash.get_data(as_text=True)
    assert '<main id="main"' in html and "出错了" in html and "Traceback" not in html
