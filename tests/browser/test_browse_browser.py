"""In a real browser: filtering and searching /needs with htmx, the URL and the back button."""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = pytest.mark.browser


def titles(page) -> list[str]:
    return [t.strip() for t in page.locator("#need-results li.need strong").all_inner_texts()]


def query(page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


def test_filter_with_htmx_then_go_back(live_url, page):
    from playwright.sync_api import expect

    page.goto(f"{live_url}/needs")
    first_list = titles(page)
    assert len(first_list) == 20
    requests = []
    page.on("request", lambda r: requests.append(r) if "/needs" in r.url else None)

    # Filtering swaps only the results (an htmx request), and pushes a shareable URL.
    page.select_option("select[name=kind]", "wish")
    expect(page).to_have_url(re.compile(r"/needs\?kind=wish$"))
    expect(page.locator("#need-results li.need").first).to_be_visible()
    wishes = titles(page)
    assert wishes and wishes != first_list and all("心愿" in t for t in wishes)
    assert any(r.headers.get("hx-request") == "true" for r in requests)
    assert page.locator("h1").count() == 1  # not a whole page swapped into the list

    # The 省 → 市 → 县 cascade: choosing a province fills the city select.
    page.select_option("#province", "广西壮族自治区")
    expect(page.locator("#city option[value='北海市']")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"province="))
    assert query(page)["kind"] == ["wish"]
    page.select_option("#city", "北海市")
    expect(page.locator("#county option[value='合浦县']")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"city="))
    assert query(page)["city"] == ["北海市"]

    # Back: the previous URL and the previous list come back.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/needs\?kind=wish&province="))
    page.go_back()
    expect(page).to_have_url(re.compile(r"/needs\?kind=wish$"))
    assert titles(page) == wishes
    page.go_back()
    expect(page).to_have_url(re.compile(r"/needs$"))
    assert titles(page) == first_list

    # The pushed URL is shareable: a direct visit renders the same filtered page.
    page.goto(f"{live_url}/needs?kind=wish")
    assert titles(page) == wishes
    expect(page.locator("select[name=kind]")).to_have_value("wish")


def test_search_as_you_type_with_a_typo_and_with_pinyin(live_url, page):
    from playwright.sync_api import expect

    page.goto(f"{live_url}/needs")
    box = page.locator("#q")
    box.press_sequentially("新书保", delay=40)  # 包 → 保: a typo
    expect(page).to_have_url(re.compile(r"q=%E6%96%B0"))
    expect(page.locator("#need-results li.need strong").first).to_contain_text("书包")

    box.fill("")
    box.press_sequentially("shubao", delay=40)  # pinyin
    expect(page).to_have_url(re.compile(r"q=shubao"))
    expect(page.locator("#need-results li.need strong").first).to_contain_text("书包")

    box.fill("zhuxeu")  # pinyin with a typo
    expect(page).to_have_url(re.compile(r"q=zhuxeu"))
    expect(page.locator("#need-results .result-count")).to_contain_text("zhuxeu")
    assert any("助学" in t for t in titles(page))

    page.go_back()
    expect(page).to_have_url(re.compile(r"q=shubao"))
    expect(page.locator("#need-results li.need strong").first).to_contain_text("书包")


def test_without_javascript_the_form_still_filters(live_url, browser):
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{live_url}/needs")
        page.select_option("#province", "山东省")
        with page.expect_navigation():
            page.click("button[type=submit]")
        expect(page).to_have_url(re.compile(r"province="))
        # the city select is now filled by the server: pick one and submit again
        page.select_option("#city", "潍坊市")
        with page.expect_navigation():
            page.click("button[type=submit]")
        expect(page.locator("#county option[value='青州市']")).to_have_count(1)
        assert parse_qs(urlparse(page.url).query)["city"] == ["潍坊市"]
        assert "滨州" not in " ".join(
            page.locator("#need-results li.need .meta").all_inner_texts())
    finally:
        context.close()


def test_public_pages_raise_no_console_error(live_url, page):
    """Under our CSP (no inline style, no eval) htmx once injected its indicator styles and
    evaluated a trigger filter: refused, with errors on every page; /favicon.ico was a 404."""
    errors = []
    page.on("console", lambda m: errors.append((page.url, m.text)) if m.type == "error" else None)
    page.on("response", lambda r: errors.append((r.url, r.status)) if r.status >= 400 else None)
    for path in ("/", "/needs", "/disclosure/", "/disclosure/ledger"):
        page.goto(f"{live_url}{path}")
    page.goto(f"{live_url}/needs")
    with page.expect_response(lambda r: "/needs?" in r.url):
        page.select_option("select[name=kind]", "wish")
    page.wait_for_timeout(300)
    assert errors == []
