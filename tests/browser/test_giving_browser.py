"""In a real browser: a donor claims a 微心愿, is shown the bank-transfer details with the
reference code, platform staff confirm the transfer, and the donor downloads the receipt
PDF, whose text carries the receipt number and the amount in Chinese capitals."""
from __future__ import annotations

import re

import pytest
from pypdf import PdfReader
from sqlmodel import Session, select

from core.db import get_engine
from donors.amount_words import amount_in_words
from needs.models import Need

pytestmark = pytest.mark.browser


def _open_wish(url) -> Need:
    with Session(get_engine(url)) as s:
        return s.exec(select(Need).where(Need.kind == "wish", Need.state == "verified",
                                         Need.funded == 0, Need.hold_holder.is_(None))
                      .order_by(Need.id)).first()


def test_a_donor_claims_a_wish_pays_by_transfer_and_downloads_the_receipt(
        live_url, page, sign_in, page_as, demo_url, tmp_path):
    from playwright.sync_api import expect

    wish = _open_wish(demo_url)
    assert wish is not None
    sign_in(page, "donor@demo.shanlian")
    page.goto(f"{live_url}/needs/{wish.code}")
    page.goto(f"{live_url}/needs/{wish.code}/give")
    expect(page.locator("h1")).to_contain_text(wish.title)
    expect(page.locator("#name")).to_have_value("演示捐赠人")
    page.click("form.form button[type=submit]")
    page.wait_for_url(re.compile(r"/gifts/"))
    gift_url = page.url
    reference = page.locator("code.reference").inner_text()
    assert re.fullmatch(r"SL-[0-9A-Z]{4}-[0-9A-Z]{4}", reference)
    expect(page.locator(".gift-status")).to_contain_text("待到账")
    expect(page.locator("section.bank-transfer")).to_contain_text("开户行")

    staff = page_as("admin@demo.shanlian")
    staff.goto(f"{live_url}/staff/payments/")
    row = staff.locator("tr", has_text=reference)
    expect(row).to_contain_text(wish.title)
    row.locator("button[type=submit]").click()
    expect(staff.locator("p.notice").first).to_contain_text(reference)
    expect(staff.locator("table.payments")).not_to_contain_text(reference)

    page.goto(gift_url)
    expect(page.locator(".gift-status")).to_contain_text("已确认到账")
    link = page.locator("a.receipt-link")
    number = re.search(r"SL-\d{4}-\d{6}", link.inner_text()).group(0)
    with page.expect_download() as download:
        link.click()
    path = tmp_path / "receipt.pdf"
    download.value.save_as(path)
    text = "".join(p.extract_text() for p in PdfReader(path).pages)
    assert number in text
    assert amount_in_words(wish.amount) in text and "演**" in text

    page.goto(f"{live_url}/account/giving/")
    expect(page.locator(f"#gift-{number[-6:].lstrip('0')}")).to_contain_text(wish.title)
    page.goto(f"{live_url}/receipts/{number}")
    expect(page.locator("dl.receipt")).to_contain_text(wish.code)
    expect(page.locator("main")).not_to_contain_text("演示捐赠人")
