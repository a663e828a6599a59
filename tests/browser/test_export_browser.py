"""In a real browser: open a need from the list, then download the needs export (CSV) from
the disclosure page and check that the file holds that need, with no private data."""
from __future__ import annotations

import csv
import io
import re

import pytest

pytestmark = pytest.mark.browser


def test_open_a_need_then_download_the_csv_export(live_url, page):
    from playwright.sync_api import expect

    page.goto(f"{live_url}/needs")
    first = page.locator("a[href*='/needs/']").filter(has_text=re.compile(r"\S")).first
    href = first.get_attribute("href")
    code = re.search(r"/needs/([A-Z]+-\d+)", href).group(1)
    title = first.inner_text().strip()
    first.click()
    expect(page).to_have_url(re.compile(rf"/needs/{code}$"))
    expect(page.locator("h1")).to_contain_text(title[:10])

    page.goto(f"{live_url}/disclosure")
    link = page.locator("a[href$='/disclosure/export/needs.csv']").first
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as fh:
        text = fh.read()
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) > 20, "a header and the demo's needs"
    header, body = rows[0], rows[1:]
    assert len(set(map(len, rows))) == 1, "every row has as many cells as the header"
    assert any(code in row for row in body), f"{code} is in the export"
    lowered = " ".join(header).lower()
    for private in ("full_name", "id_number", "guardian", "birth", "姓名", "身份证", "电话"):
        assert private not in lowered
