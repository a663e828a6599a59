"""“Where did my ¥ go” and yearly statements: a signed-in donor's gifts with the
disbursements each paid for (first in, first out) and their evidence, the public receipt
page's trail without personal data, and the 年度捐赠明细 PDF for donors and enterprises."""
import io
import re

from pypdf import PdfReader
from sqlmodel import select

from core.clock import now
from core.db import get_engine, unit_of_work
from donors import services as donors
from donors.giving_models import GiftPayment, GiftReceipt
from donors.receipts import beijing
from funds.models import Disbursement
from needs.funding import disburse
from needs.models import Evidence, Need
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from tests.integration.helpers import committed, org, verified_need


def _give(client, code, amount, name="王小明"):
    response = client.post(f"/needs/{code}/give", data={
        "amount": amount, "name": name, "contact": "wang@example.cn"})
    assert response.status_code == 303, response.get_data(as_text=True)[:400]
    return response.headers["Location"]


def _confirm_all(app, url):
    staff = app.test_client()
    sign_in(staff, make_user(url, "finance@example.cn", ("admin", {})))
    with unit_of_work(get_engine(url)) as s:
        ids = s.exec(select(GiftPayment.id).where(GiftPayment.status == "awaiting")
                     .order_by(GiftPayment.id)).all()
    for payment_id in ids:
        assert staff.post(f"/staff/payments/{payment_id}/confirm").status_code == 303


def _project(url, amount=100_000):
    return committed(url, lambda s: verified_need(s, org(s), kind="project", amount=amount,
                                                 title="社区图书角")).code


def _pay_out(url, code, amount, memo, caption=None):
    def build(s):
        need = s.exec(select(Need).where(Need.code == code)).one()
        payout = disburse(s, need, amount, "邹平市图书供应商", memo=memo)
        if caption:
            s.add(Evidence(need_id=need.id, disbursement_id=payout.id, filename="invoice.jpg",
                           sha256="0" * 64, content_type="image/jpeg", caption=caption))
        return payout.id
    return committed(url, build)


def test_a_donor_sees_which_disbursements_their_gift_paid_for(clean_url):
    code = _project(clean_url)
    app = make_app(clean_url)
    donor = app.test_client()
    donor_id = make_user(clean_url, "wang@example.cn", ("donor", {}), name="王小明")
    sign_in(donor, donor_id)
    _give(app.test_client(), code, "300", name="早到的人")  # a guest's gift comes first
    _give(donor, code, "500.50")
    _confirm_all(app, clean_url)
    first = _pay_out(clean_url, code, 40_000, "第一批图书", caption="发票一")
    _pay_out(clean_url, code, 20_000, "第二批书架")

    html = donor.get("/account/giving/").get_data(as_text=True)
    assert "¥500.50" in html and "早到的人" not in html and "¥300.00" not in html
    # FIFO: the guest's ¥300 paid the first ¥300 of the ¥400 payout, so this gift paid ¥100
    # of it and ¥200 of the second; ¥200.50 is still held for the need.
    assert "¥100.00" in html and "¥200.00" in html and "¥200.50" in html
    assert "第一批图书" in html and "第二批书架" in html
    with unit_of_work(get_engine(clean_url)) as s:
        evidence_id = s.exec(select(Evidence.id).where(Evidence.disbursement_id == first)).one()
        number = s.exec(select(GiftReceipt.number).order_by(GiftReceipt.id.desc())).first()
    assert f"/disclosure/evidence/{evidence_id}" in html and "发票一" in html
    link = re.search(r'class="receipt-link" href="([^"]+)"', html).group(1)
    pdf = donor.get(link)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert number in "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)

    public = app.test_client().get(f"/receipts/{number}").get_data(as_text=True)
    assert "第一批图书" in public and "¥100.00" in public and "¥200.50" in public
    assert "王小明" not in public and "wang@example.cn" not in public and "王**" in public


def test_my_gifts_lists_only_my_own_and_needs_sign_in(clean_url):
    code = _project(clean_url)
    app = make_app(clean_url)
    mine, other = app.test_client(), app.test_client()
    sign_in(mine, make_user(clean_url, "a@example.cn", ("donor", {}), name="甲"))
    sign_in(other, make_user(clean_url, "b@example.cn", ("donor", {}), name="乙"))
    _give(mine, code, "12.30", name="甲")
    html = other.get("/account/giving/").get_data(as_text=True)
    assert "¥12.30" not in html and "还没有捐赠记录" in html
    pending = mine.get("/account/giving/").get_data(as_text=True)
    assert "¥12.30" in pending and "待到账" in pending and "receipt-link" not in pending
    anonymous = app.test_client().get("/account/giving/")
    assert anonymous.status_code == 302 and "/account/sign-in" in anonymous.headers["Location"]
    staff = app.test_client()  # signed in but not a donor: the policy says no
    sign_in(staff, make_user(clean_url, "v@example.cn", ("verifier", {"region": "山东省"})))
    assert staff.get("/account/giving/").status_code == 403


def test_a_donor_downloads_the_yearly_statement(clean_url):
    code = _project(clean_url)
    app = make_app(clean_url)
    donor = app.test_client()
    sign_in(donor, make_user(clean_url, "wang@example.cn", ("donor", {}), name="王小明"))
    _give(donor, code, "150")
    _give(donor, code, "100")
    _confirm_all(app, clean_url)
    year = beijing(now()).year
    page = donor.get(f"/account/giving/statements?year={year}").get_data(as_text=True)
    assert "¥250.00" in page and "社区图书角" in page
    pdf = donor.get(f"/account/giving/statements/{year}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "贰佰伍拾元整" in text and "王小明" in text and f"{year}" in text
    empty = donor.get(f"/account/giving/statements?year={year - 1}").get_data(as_text=True)
    assert "没有已确认的捐赠" in empty


def test_statement_years_that_are_not_years_are_refused(clean_url):
    app = make_app(clean_url)
    donor = app.test_client()
    sign_in(donor, make_user(clean_url, "wang@example.cn", ("donor", {})))
    future = beijing(now()).year + 1
    for bad in ("abc", "1999", str(future), "2026.5", "-1"):
        response = donor.get(f"/account/giving/statements?year={bad}")
        assert response.status_code == 400, bad
        assert "年份" in response.get_data(as_text=True)
    assert donor.get(f"/account/giving/statements/{future}.pdf").status_code == 400


def test_an_enterprise_statement_is_for_its_own_people_only(clean_url):
    def build(s):
        firm = donors.create_enterprise(s, "滨州爱心企业", "山东省/滨州市")
        other = donors.create_enterprise(s, "别家企业", "山东省/滨州市")
        pledge = donors.create_pledge(s, firm, 500_000, title="助学认捐")
        donors.pay_pledge(s, pledge, 200_000, "bank:1")
        return firm.id, other.id
    firm_id, other_id = committed(clean_url, build)
    app = make_app(clean_url)
    staff = app.test_client()
    sign_in(staff, make_user(clean_url, "e@example.cn",
                             ("enterprise_staff", {"enterprise_id": firm_id})))
    year = beijing(now()).year
    page = staff.get(f"/enterprise/{firm_id}/statements?year={year}").get_data(as_text=True)
    assert "¥2,000.00" in page and "滨州爱心企业" in page
    pdf = staff.get(f"/enterprise/{firm_id}/statements/{year}.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "贰仟元整" in text and "滨州爱心企业" in text
    assert staff.get(f"/enterprise/{other_id}/statements").status_code == 403
    assert staff.get(f"/enterprise/{other_id}/statements/{year}.pdf").status_code == 403
    assert staff.get("/enterprise/999/statements").status_code == 404


def test_trail_ignores_disbursements_of_other_needs(clean_url):
    def build(s):
        organisation = org(s)
        return [verified_need(s, organisation, kind="project", amount=100_000, title=title).code
                for title in ("社区图书角", "另一个项目")]
    code, other = committed(clean_url, build)
    app = make_app(clean_url)
    donor = app.test_client()
    sign_in(donor, make_user(clean_url, "wang@example.cn", ("donor", {})))
    _give(donor, code, "200")
    _give(app.test_client(), other, "900", name="别人")
    _confirm_all(app, clean_url)
    _pay_out(clean_url, other, 50_000, "别的项目的拨付")
    html = donor.get("/account/giving/").get_data(as_text=True)
    assert "别的项目的拨付" not in html and "尚未拨付" in html
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.exec(select(Disbursement)).one().amount == 50_000


def test_the_giving_pages_read_in_english_without_chinese_punctuation(clean_url):
    code = _project(clean_url)
    app = make_app(clean_url)
    donor = app.test_client()
    sign_in(donor, make_user(clean_url, "wang@example.cn", ("donor", {}), name="Wang"))
    _give(donor, code, "150", name="Wang")
    _confirm_all(app, clean_url)
    _pay_out(clean_url, code, 10_000, "books", caption="invoice")
    with unit_of_work(get_engine(clean_url)) as s:
        number = s.exec(select(GiftReceipt.number)).one()
    pages = {"/account/giving/": "Where my money went",
             "/account/giving/statements": "Yearly giving statement",
             f"/receipts/{number}": "Paid out on"}
    for url, english in pages.items():
        html = donor.get(url + ("&" if "?" in url else "?") + "lang=en").get_data(as_text=True)
        main = html[html.index("<main"):html.index("</main>")]
        assert english in main, url
        leaked = set("：（）、。") & set(main.replace("社区图书角", ""))
        assert not leaked, (url, leaked)


def test_a_gift_shows_the_match_funding_it_drew(clean_url):
    from datetime import timedelta

    from core.money import Money
    from donors.match_offers import approve_offer, create_offer

    code = _project(clean_url)

    def offer(s):
        firm = donors.create_enterprise(s, "配捐企业", "山东省/滨州市")
        approve_offer(s, create_offer(s, firm, title="1:1", ratio_pct=100,
                                      total_cap=Money.yuan(100), starts_at=now() - timedelta(1),
                                      ends_at=now() + timedelta(days=9)))
    committed(clean_url, offer)
    app = make_app(clean_url)
    donor = app.test_client()
    sign_in(donor, make_user(clean_url, "wang@example.cn", ("donor", {})))
    _give(donor, code, "150")
    _confirm_all(app, clean_url)
    html = donor.get("/account/giving/").get_data(as_text=True)
    assert "带来企业配捐" in html and "¥100.00" in html  # the offer's whole ¥100 cap
