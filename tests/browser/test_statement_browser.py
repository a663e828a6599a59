"""In a real browser, over the demo data: enterprise staff ask to pay a pledge tranche by bank
transfer and get its code; platform staff upload the bank's statement (the code mangled, the
company's name mistyped), see the tranche proposed and confirm it with one click; the line
says so in place (htmx, no reload) and the money is paid in."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from core.db import get_engine, unit_of_work
from donors.models import PledgeTranche

pytestmark = pytest.mark.browser


def test_a_tranche_on_the_statement_is_confirmed_in_place(live_url, demo_url, page, sign_in,
                                                         page_as, tmp_path):
    from playwright.sync_api import expect

    sign_in(page, "enterprise-staff@demo.shanlian")
    firm = re.search(r"/enterprise/(\d+)/", page.locator("a[href^='/enterprise/']").first
                     .get_attribute("href")).group(1)
    page.goto(f"{live_url}/enterprise/{firm}/")
    page.locator("button:has-text('银行转账付款')").first.click()
    code = page.locator("code.reference").first.inner_text().strip()
    firm_name = page.locator("h1").first.inner_text().strip()
    with unit_of_work(get_engine(demo_url)) as s:
        tranche = s.exec(select(PledgeTranche).where(PledgeTranche.reference == code)).one()
        amount, tranche_id = tranche.amount, tranche.id
    typo = firm_name.replace("有限公司", "有限公同")
    statement = tmp_path / "statement.csv"
    statement.write_bytes("\n".join([
        "交易日期,贷方金额,借方金额,对方户名,摘要",
        f"2099-01-05,{amount // 100}.{amount % 100:02d},,{typo},"
        f"认捐款 {code.lower().replace('-', ' ')}",
        "2099-01-06,12.34,,滨州鲁南化工有限公司,货款"]).encode("gbk"))

    staff = page_as("admin@demo.shanlian")
    staff.goto(f"{live_url}/staff/payments/")
    staff.set_input_files("input[type=file]", str(statement))
    staff.click("button:has-text('核对')")
    row = staff.locator("tr.match-tranche", has_text=code)
    expect(row).to_contain_text("参考码一致")
    expect(row).to_contain_text("第")
    staff.evaluate("window.__not_reloaded = true")
    row.locator("button:has-text('确认')").click()
    expect(row.locator(".confirmed")).to_contain_text(code)
    assert staff.evaluate("window.__not_reloaded") is True  # swapped in place, no reload
    expect(staff.locator("ul.unmatched")).to_contain_text("滨州鲁南化工有限公司")
    with unit_of_work(get_engine(demo_url)) as s:
        assert s.get(PledgeTranche, tranche_id).paid_at is not None
    staff.goto(f"{live_url}/matching/tranches")
    assert code not in staff.content()
