"""Staff upload the bank's statement: references first, then amount + payer name (typos
forgiven), each proposal confirmed with one click; unmatched lines stay listed."""
import io

from sqlmodel import select

from core.db import get_engine, unit_of_work
from donors.giving_models import GiftPayment
from donors.models import Donation
from funds import ledger
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from tests.integration.helpers import committed, org, verified_need


def _project(url):
    return committed(url, lambda s: verified_need(s, org(s), kind="project", amount=1_000_000,
                                                  title="图书角").code)


def _give(client, code, name, amount):
    response = client.post(f"/needs/{code}/give",
                           data={"name": name, "amount": amount, "contact": "p@example.cn"})
    assert response.status_code == 303


def test_a_statement_with_typos_is_reconciled_and_confirmed_line_by_line(clean_url):
    code = _project(clean_url)
    app = make_app(clean_url)
    for name, amount in [("张三丰", "200"), ("李小明", "88.80"), ("王芳", "500"), ("赵六", "66")]:
        _give(app.test_client(), code, name, amount)
    with unit_of_work(get_engine(clean_url)) as s:
        refs = {p.payer_name: p.reference for p in s.exec(select(GiftPayment)).all()}
    csv = "\n".join([
        "账号,6222000011112222", "户名,善联慈善信息平台", "",
        "交易日期,贷方金额,借方金额,对方户名,摘要",
        f"2099-01-02,200.00,,张三峰,转账 {refs['张三丰'].lower().replace('-', ' ')}",  # ref, name typo
        "2099-01-02,88.80,,李晓明,捐款",  # lost its reference: amount + a homophone typo
        "2099-01-03,500.00,,王小明,捐款",  # same amount as 王芳 but another person: no match
        "2099-01-03,,30.00,手续费,",  # money out: skipped
        "合计,788.80,30.00,,",
    ]).encode("gbk")
    staff = app.test_client()
    sign_in(staff, make_user(clean_url, "finance@example.cn", ("admin", {})))
    page = staff.post("/staff/payments/statement",
                      data={"statement": (io.BytesIO(csv), "statement.csv")},
                      content_type="multipart/form-data")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "参考码一致" in html and "金额一致、付款人相近" in html
    assert "王小明" in html and "未匹配的入账（1）" in html  # listed, not proposed
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.exec(select(Donation).where(Donation.status == "paid")).all() == []  # nothing yet
        by_name = {p.payer_name: p.id for p in s.exec(select(GiftPayment)).all()}
    for name in ("张三丰", "李小明"):
        assert f"/staff/payments/{by_name[name]}/confirm" in html
        assert staff.post(f"/staff/payments/{by_name[name]}/confirm").status_code == 303
    assert f"/staff/payments/{by_name['王芳']}/confirm" not in html
    with unit_of_work(get_engine(clean_url)) as s:
        paid = sorted(d.amount for d in s.exec(select(Donation).where(Donation.status == "paid")))
        assert paid == [8_880, 20_000] and ledger.verify(s).ok


def test_an_unreadable_statement_is_refused_with_a_message(clean_url):
    app = make_app(clean_url)
    staff = app.test_client()
    sign_in(staff, make_user(clean_url, "finance@example.cn", ("admin", {})))
    for data in (b"", b"no header here\n1,2,3\n"):
        response = staff.post("/staff/payments/statement",
                              data={"statement": (io.BytesIO(data), "s.csv")},
                              content_type="multipart/form-data")
        assert response.status_code == 422
        assert 'class="errors"' in response.get_data(as_text=True)
    missing = staff.post("/staff/payments/statement", data={},
                         content_type="multipart/form-data")
    assert missing.status_code == 422 and "请选择对账单文件" in missing.get_data(as_text=True)
