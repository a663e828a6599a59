"""The bank statement upload proposes pledge tranches as well as gifts: a tranche's reference
code first (however the bank mangled it), then the amount and the enterprise's name (typos
forgiven, another company refused); staff confirm each proposal with one click, in place,
through the same service as /matching/tranches."""
import io
from datetime import date

from sqlmodel import select

from core.audit import AuditEntry
from core.db import get_engine, unit_of_work
from donors import services as donors
from donors.giving_models import GiftPayment
from donors.models import Pledge, PledgeTranche
from funds import ledger
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from tests.integration.helpers import committed, org, verified_need

FIRM = "滨州鲁北爱心实业有限公司"
HX = {"HX-Request": "true"}


def _world(url):
    def build(s):
        firm = donors.create_enterprise(s, FIRM, "山东省/滨州市")
        pledge = donors.create_pledge(s, firm, 300_000, title="一米阳光", tranches=[
            (date(2026, 1, 1), 100_000), (date(2027, 1, 1), 120_000), (date(2028, 1, 1), 80_000)])
        need = verified_need(s, org(s), kind="project", amount=1_000_000, title="图书角")
        return firm.id, [t.id for t in donors.tranches_of(s, pledge)], need.code
    return committed(url, build)


def test_a_statement_with_typos_proposes_tranches_and_staff_confirm_them_in_place(clean_url):
    firm_id, (first, second, third), need_code = _world(clean_url)
    app = make_app(clean_url)
    staff = app.test_client()
    sign_in(staff, make_user(clean_url, "staff@firm.cn",
                             ("enterprise_staff", {"enterprise_id": firm_id})))
    assert staff.post(f"/enterprise/{firm_id}/tranches/{first}/pay").status_code == 303
    donor = app.test_client()  # a gift waits too: gift ids and tranche ids overlap (both 1)
    assert donor.post(f"/needs/{need_code}/give", data={
        "name": "张三丰", "amount": "1000", "contact": "p@example.cn"}).status_code == 303
    with unit_of_work(get_engine(clean_url)) as s:
        code = s.get(PledgeTranche, first).reference
        gift = s.exec(select(GiftPayment)).one()
        assert code and gift.id == first
    csv = "\n".join([
        "账号,6222000011112222", "户名,善联慈善信息平台", "",
        "交易日期,贷方金额,借方金额,对方户名,摘要",
        # the tranche's code, lower case and spaced, from a mistyped company name
        f"2026-01-05,1000.00,,滨州鲁北爱心实业有限公同,认捐款 {code.lower().replace('-', ' ')}",
        # the second tranche, never asked for a code: the amount and a typo'd name (洲 for 州)
        "2027-01-06,1200.00,,滨洲鲁北爱心实业有限公司,第二期认捐",
        # the third tranche's amount from another company: listed, not proposed
        "2027-01-07,800.00,,滨州鲁南化工有限公司,货款",
        # the gift, its reference lost, a homophone typo (峰 for 丰), the same amount as the
        # first tranche: the tranche is taken by its code, the gift by the name
        "2027-01-08,1000.00,,张三峰,捐款",
        "合计,4000.00,,,",
    ]).encode("gbk")
    admin = app.test_client()
    sign_in(admin, make_user(clean_url, "finance@example.cn", ("admin", {})))
    page = admin.post("/staff/payments/statement",
                      data={"statement": (io.BytesIO(csv), "statement.csv")},
                      content_type="multipart/form-data")
    html = page.text
    assert page.status_code == 200, html
    with unit_of_work(get_engine(clean_url)) as s:
        pledge = s.exec(select(Pledge)).one()
        assert pledge.paid_in == 0  # proposing pays nothing
    assert f"认捐 {pledge.code} 第 1 期" in html and f"认捐 {pledge.code} 第 2 期" in html
    assert f"认捐 {pledge.code} 第 3 期" not in html
    assert f"/staff/payments/tranches/{first}/confirm" in html
    assert f"/staff/payments/tranches/{second}/confirm" in html
    assert f"/staff/payments/tranches/{third}/confirm" not in html
    assert f"/staff/payments/{gift.id}/confirm" in html  # the gift, by amount and name
    assert "未匹配的入账（1）" in html and "滨州鲁南化工有限公司" in html
    assert 'hx-post="/staff/payments/tranches/' in html

    # The enterprise's own staff cannot confirm its money.
    assert staff.post(f"/staff/payments/tranches/{first}/confirm").status_code == 403
    # One click on the statement page: the line answers in place (htmx) ...
    done = admin.post(f"/staff/payments/tranches/{first}/confirm", headers=HX)
    assert done.status_code == 200 and "✓" in done.text and code in done.text
    assert "<html" not in done.text
    # ... or, without JavaScript, back to the list with the message.
    plain = admin.post(f"/staff/payments/tranches/{second}/confirm")
    assert plain.status_code == 303 and plain.headers["Location"].endswith("/staff/payments/")
    # Clicking twice is refused in place and pays nothing more.
    again = admin.post(f"/staff/payments/tranches/{first}/confirm", headers=HX)
    assert again.status_code == 422 and "已确认到账" in again.text and "<html" not in again.text
    assert admin.post("/staff/payments/tranches/99999/confirm").status_code == 404
    assert admin.post(f"/staff/payments/{gift.id}/confirm", headers=HX).status_code == 200

    with unit_of_work(get_engine(clean_url)) as s:
        assert s.exec(select(Pledge)).one().paid_in == 220_000
        paid = {t.id: t.paid_at is not None for t in s.exec(select(PledgeTranche)).all()}
        assert paid == {first: True, second: True, third: False}
        assert s.get(GiftPayment, gift.id).status == "confirmed"
        assert ledger.verify(s).ok
        actions = [a.action for a in s.exec(select(AuditEntry)).all()]
        assert actions.count("pledge.tranche_paid") == 2
    # What is left to find on the next statement: the third tranche only.
    page = admin.post("/staff/payments/statement",
                      data={"statement": (io.BytesIO(csv), "statement.csv")},
                      content_type="multipart/form-data")
    assert "/staff/payments/tranches/" not in page.text


def test_the_english_statement_page_names_the_tranche(clean_url):
    firm_id, (first, _second, _third), _need = _world(clean_url)
    app = make_app(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        pledge_code = s.exec(select(Pledge)).one().code
    csv = ("交易日期,贷方金额,对方户名,摘要\n"
           "2099-01-05,1000.00,滨州鲁北爱心实业有限公司,认捐款\n").encode()
    admin = app.test_client()
    sign_in(admin, make_user(clean_url, "finance@example.cn", ("admin", {})))
    admin.get("/lang/en")
    html = admin.post("/staff/payments/statement",
                      data={"statement": (io.BytesIO(csv), "s.csv")},
                      content_type="multipart/form-data").text
    assert f"pledge {pledge_code}, tranche 1" in html
    assert f"/staff/payments/tranches/{first}/confirm" in html
