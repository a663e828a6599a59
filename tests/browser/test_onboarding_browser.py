"""In a real browser: a charity signs up and applies to join (with its certificate), an
admin approves it, and the charity's account then shows its organisation and the
org-admin's invite page."""
from __future__ import annotations

import re

import pytest

from demo.h8a_data import PASSWORD
from tests.integration.onboarding_helpers import PDF, uscc

pytestmark = pytest.mark.browser
NAME = "滨州市春苗儿童关爱中心"


def _sign_in(page, live_url, email, password):
    page.goto(f"{live_url}/account/sign-in")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("form.form button[type=submit]")


def test_an_organisation_signs_up_applies_and_is_approved(live_url, page, browser, tmp_path):
    from playwright.sync_api import expect

    page.goto(f"{live_url}/account/sign-up")
    page.fill("#name", "春苗李主任")
    page.fill("#email", "chunmiao@b.cn")
    page.fill("#password", "chunmiao password")
    page.click("form.form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/account/$"))

    page.goto(f"{live_url}/onboarding/apply")
    page.select_option("#kind", "organisation")
    page.fill("#name", NAME)
    page.select_option("#region", "山东省/滨州市/滨城区")
    page.fill("#uscc", uscc(77))
    page.set_input_files("#certificate", files=[{"name": "certificate.pdf",
                                                  "mimeType": "application/pdf",
                                                  "buffer": PDF}])
    page.fill("#contact_name", "李主任")
    page.fill("#contact_phone", "0543-7654321")
    page.fill("#contact_email", "chunmiao@b.cn")
    page.screenshot(path=str(tmp_path / "apply.png"))
    page.click("form.form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/onboarding/$"))
    expect(page.locator("table")).to_contain_text(NAME)
    expect(page.locator("table")).to_contain_text("待审核")

    admin_context = browser.new_context(locale="zh-CN")
    admin = admin_context.new_page()
    try:
        _sign_in(admin, live_url, "admin@demo.shanlian", PASSWORD)
        admin.goto(f"{live_url}/admin/applications")
        admin.click(f"text={NAME}")
        expect(admin.locator("h1")).to_contain_text(NAME)
        admin.click("button:has-text('通过'):not(:has-text('不'))")
        expect(admin).to_have_url(re.compile(r"/admin/applications$"))
        expect(admin.locator("main")).not_to_contain_text(NAME)
    finally:
        admin_context.close()

    page.goto(f"{live_url}/account/")
    expect(page.locator("main")).to_contain_text("我的机构")
    expect(page.locator("main")).to_contain_text(NAME)
    page.click("text=邀请工作人员")
    expect(page.locator("h1")).to_contain_text(NAME)
    page.screenshot(path=str(tmp_path / "invite.png"))
