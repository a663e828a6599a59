"""In a real browser, over the demo data: enterprise staff sign in and create a pledge,
choosing its region through the 省 → 市 → 县 htmx cascade; platform staff confirm its tranche
is paid; an admin starts a matching run with the button; the enterprise's reviewer accepts
the proposal; and the need's public page then names the enterprise."""
from __future__ import annotations

import re

import pytest
from sqlmodel import select

from core.users import Membership, User
from donors.models import Enterprise, Pledge
from needs import services as needs
from tests.integration.helpers import committed, verified_need

pytestmark = pytest.mark.browser
LINQU = "山东省/潍坊市/临朐县/城关街道"
TITLE = "临朐县助残微心愿专项"


def _setup(demo_url):
    """A verified 助残 微心愿 in 临朐县: no demo pledge or fund may pay for it, so the run can
    only propose the pledge this test makes."""
    def build(s):
        organisation = needs.create_organisation(s, "临朐县助残服务中心", "山东省/潍坊市/临朐县",
                                                 status="approved")
        need = verified_need(s, organisation, kind="wish", amount=20_000, category="助残",
                             region=LINQU, title="一副新拐杖", urgency=5)
        staff = s.exec(select(User).where(User.email == "enterprise-staff@demo.shanlian")).one()
        firm_id = s.exec(select(Membership.enterprise_id).where(
            Membership.user_id == staff.id, Membership.role == "enterprise_staff")).one()
        return need.code, firm_id, s.get(Enterprise, firm_id).name
    return committed(demo_url, build)


def test_pledge_by_cascade_run_accept_and_the_need_names_the_enterprise(
        live_url, demo_url, page, sign_in, page_as, new_page, tmp_path):
    from playwright.sync_api import expect

    need_code, firm_id, firm_name = _setup(demo_url)
    assert firm_name not in page.context.request.get(f"{live_url}/needs/{need_code}").text()

    # Enterprise staff: a pledge for 助残 wishes in 潍坊市临朐县, region by the cascade.
    sign_in(page, "enterprise-staff@demo.shanlian")
    page.goto(f"{live_url}/enterprise/{firm_id}/pledges/new")
    page.fill("#title", TITLE)
    page.fill("#budget", "500")
    page.check("input[name=categories][value=助残]")
    page.check("input[name=need_kinds][value=wish]")
    expect(page.locator("#region_city")).to_be_disabled()
    page.select_option("#region_province", "山东省")
    expect(page.locator("#region_city")).to_be_enabled()  # htmx loaded the cities
    page.select_option("#region_city", "潍坊市")
    expect(page.locator("#region_county option[value=临朐县]")).to_have_count(1)
    page.select_option("#region_county", "临朐县")
    expect(page.locator("#region_county")).to_have_value("临朐县")
    expect(page.locator("noscript")).to_have_count(1)  # the no-JS button is not shown here
    page.screenshot(path=str(tmp_path / "pledge.png"), full_page=True)
    page.click("button:has-text('提交认捐'):not(.sr-only)")
    expect(page).to_have_url(re.compile(rf"/enterprise/{firm_id}/$"))
    assert committed(demo_url, lambda s: s.exec(select(Pledge.regions).where(
        Pledge.title == TITLE)).one()) == ["山东省/潍坊市/临朐县"]
    row = page.locator("tr", has_text=TITLE)
    expect(row).to_contain_text("¥500.00")
    expect(row).to_contain_text("待到账")

    # Platform staff confirm the bank transfer; an admin starts a run.
    admin = page_as("admin@demo.shanlian")
    admin.goto(f"{live_url}/matching/tranches")
    admin.locator("tr", has_text=TITLE).locator("button:has-text('确认收款')").click()
    expect(admin.locator("tr", has_text=TITLE)).to_have_count(0)
    admin.goto(f"{live_url}/matching/runs")
    admin.click("button:has-text('开始匹配运行')")
    expect(admin).to_have_url(re.compile(r"/matching/runs/\d+$"))
    expect(admin.locator(".run-status")).to_have_attribute("data-status", "proposed",
                                                      timeout=60_000)
    expect(admin.locator("#run-progress")).to_contain_text(need_code)

    # The enterprise's reviewer accepts the proposal for the 临朐县 wish.
    reviewer = page_as("enterprise-reviewer@demo.shanlian")
    reviewer.goto(f"{live_url}/enterprise/{firm_id}/proposals")
    proposal = reviewer.locator("tr[id^=proposal-]", has_text=need_code)
    expect(proposal).to_contain_text("¥200.00")
    proposal.locator("input[name=reason]").first.fill("符合本企业助残计划")
    proposal.locator("button:has-text('接受')").click()
    expect(reviewer.locator("tr[id^=proposal-]", has_text=need_code)).to_have_count(0)
    reviewer.goto(f"{live_url}/enterprise/{firm_id}/")
    expect(reviewer.locator("table.money-regions")).to_contain_text("临朐县")
    expect(reviewer.locator("figure.money-map svg")).to_contain_text("临朐县")
    reviewer.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    # Anyone: the need's public page names the enterprise.
    public = new_page()
    public.goto(f"{live_url}/needs/{need_code}")
    expect(public.locator("main")).to_contain_text(firm_name)


def test_the_region_picker_works_without_javascript(live_url, demo_url, page_as):
    from playwright.sync_api import expect

    firm_id = committed(demo_url, lambda s: s.exec(select(Membership.enterprise_id).join(
        User, User.id == Membership.user_id).where(
        User.email == "enterprise-staff@demo.shanlian")).one())
    page = page_as("enterprise-staff@demo.shanlian", java_script_enabled=False)
    page.goto(f"{live_url}/enterprise/{firm_id}/pledges/new")
    page.fill("#title", "无脚本认捐")
    page.fill("#budget", "300")
    page.select_option("#region_province", "山东省")
    page.click("button[name=region_next]")  # the <noscript> button
    page.select_option("#region_city", "聊城市")
    page.click("button[name=region_next]")
    page.select_option("#region_county", "冠县")
    page.click("button[name=region_add]")  # keep it, start another
    expect(page.locator("input[name=regions][value='山东省/聊城市/冠县']")).to_be_checked()
    page.select_option("#region_province", "广西壮族自治区")
    page.press("#budget", "Enter")  # Enter submits the pledge, not a picker button
    expect(page).to_have_url(re.compile(rf"/enterprise/{firm_id}/$"))
    regions = committed(demo_url, lambda s: s.exec(select(Pledge.regions).where(
        Pledge.title == "无脚本认捐")).one())
    assert regions == ["山东省/聊城市/冠县", "广西壮族自治区"]


def test_the_run_page_follows_a_queued_run_without_a_reload(live_url, demo_url, page_as):
    """A run queued for a worker: its page shows progress and, once the run is carried
    out, the htmx poll swaps in the summary in the same page (no navigation)."""
    from playwright.sync_api import expect

    from donors import matching_runs
    from funds.models import MatchRun

    run_id = committed(demo_url, lambda s: matching_runs.start_run(s, dry_run=True).id)
    page = page_as("admin@demo.shanlian")
    page.goto(f"{live_url}/matching/runs/{run_id}")
    expect(page.locator(".run-status")).to_have_attribute("data-status", "queued")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    committed(demo_url, lambda s: matching_runs.carry_out(s, s.get(MatchRun, run_id)))
    expect(page.locator(".run-status")).to_have_attribute("data-status", "dry_run",
                                                          timeout=15_000)
    expect(page.locator("#run-progress")).to_contain_text("目标值 ÷ 上界")
    assert navigations == []
