"""In a real browser, under the site's CSP: /api/docs renders the API's operations from
/api/openapi.json with the pinned Swagger UI, and Execute calls the API."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_docs_page_renders_the_operations_under_the_csp(live_url, page):
    from playwright.sync_api import expect

    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text)
            if "Content Security Policy" in m.text else None)
    page.goto(f"{live_url}/api/docs")
    operation = page.locator(".opblock-summary-path", has_text="/api/v1/needs").first
    expect(operation).to_be_visible()
    assert page.locator(".opblock").count() >= 8
    operation.click()  # expand it: try-it-out is on (web/static/api-docs.js)
    page.get_by_role("button", name="Execute").first.click()
    expect(page.locator(".live-responses-table tbody .response-col_status").first
           ).to_contain_text("200")
    assert not refused, f"the CSP refused something: {refused}"
