"""In a real browser: a charity signs up and applies to join (with its certificate), an
admin approves it, and the charity's account then shows its organisation and the
org-admin's invite page."""
from __future__ import annotations

import re

import pytest

from tests.integration.onboarding_helpers import uscc

pytestmark = pytest.mark.browser
NAME = "滨州市春苗儿童关爱中心"


def test_an_organisation_signs_up_applies_and_is_approved(live_url, page, page_as, sign_up,
                                                          fill_application, tmp_path):
    from playwright.sync_api import expect

    sign_up(page, "春苗李主任", "chunmiao@b.cn", "chunmiao password")
    fill_application(page, name=NAME, region="山东省/滨州市/滨城区", uscc=uscc(77),
                     contact_name="李主任", contact_phone="0543-7654321",
                     contact_email="chunmiao@b.cn")
    page.screenshot(path=str(tmp_path / "apply.png"))
    page.click("form.form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/onboarding/$"))
    expect(page.locator("table")).to_contain_text(NAME)
    expect(page.locator("table")).to_contain_text("待审核")

    admin = page_as("admin@demo.shanlian")
    admin.goto(f"{live_url}/admin/applications")
    admin.click(f"text={NAME}")
    expect(admin.locator("h1")).to_contain_text(NAME)
    admin.click("button:has-text('通过'):not(:has-text('不'))")
    expect(admin).to_have_url(re.compile(r"/admin/applications$"))
    expect(admin.locator("main")).not_to_contain_text(NAME)

    page.goto(f"{live_url}/account/")
    expect(page.locator("main")).to_contain_text("我的机构")
    expect(page.locator("main")).to_contain_text(NAME)
    page.click("text=邀请工作人员")
    expect(page.locator("h1")).to_contain_text(NAME)
    page.screenshot(path=str(tmp_path / "invite.png"))
