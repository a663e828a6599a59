"""At 390 px (a phone) in a real browser: no table cell is squeezed narrower than 4
characters on the fund, ledger and need pages, and no chart text is under 11 px; the filter
panel of /needs folds behind a button that works without JavaScript."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}

# Cells that are rendered (not in a closed <details>) and narrower than 4 characters of their
# own font; a stacked row's cell spans the row, so it passes.
NARROW_CELLS = """() => [...document.querySelectorAll('main td, main th')]
  .filter(c => c.checkVisibility({contentVisibilityAuto: true, visibilityProperty: true}))
  .map(c => ({w: c.getBoundingClientRect().width,
              em: parseFloat(getComputedStyle(c).fontSize), text: c.innerText.slice(0, 30)}))
  .filter(c => c.w < 4 * c.em)"""

# Chart text as drawn on screen: its font size times the SVG's scale.
SMALL_CHART_TEXT = """() => [...document.querySelectorAll('svg.chart text')]
  .filter(t => t.checkVisibility())
  .map(t => ({px: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a,
              text: t.textContent}))
  .filter(t => t.px < 11)"""


def _too_wide(page, live_url, paths) -> list[tuple[str, int]]:
    """(path, width) of each page that scrolls sideways on the phone."""
    wide = []
    for path in paths:
        page.goto(f"{live_url}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide.append((path, width))
    return wide


@pytest.fixture
def phone(page):
    page.set_viewport_size(PHONE)
    return page


@pytest.mark.parametrize("path", ["/disclosure/funds/F-ANXIN", "/disclosure/ledger",
                                  "/disclosure/needs/J-1", "/needs/J-1", "/disclosure/",
                                  "/disclosure/funds", "/disclosure/enterprises"])
def test_no_table_cell_is_narrower_than_four_characters(live_url, phone, path):
    for lang in ("zh_CN", "en"):
        phone.goto(f"{live_url}/lang/{lang}?next={path}")
        assert phone.evaluate("document.querySelectorAll('main td').length") > 0 \
            or path == "/needs/J-1", path
        assert phone.evaluate(NARROW_CELLS) == [], (path, lang)


def test_chart_text_is_never_under_eleven_pixels(live_url, phone):
    phone.goto(f"{live_url}/disclosure/")
    assert phone.evaluate("document.querySelectorAll('svg.chart text').length") > 10
    assert phone.evaluate(SMALL_CHART_TEXT) == []
    # month labels thinned out: none overlaps the next
    overlaps = phone.evaluate("""() => {
      const labels = [...document.querySelectorAll('svg.chart text')]
        .filter(t => /^\\d{4}-\\d{2}$/.test(t.textContent)).map(t => t.getBoundingClientRect());
      return labels.filter((r, i) => i && r.top === labels[i-1].top && r.left < labels[i-1].right).length;
    }""")
    assert overlaps == 0


def _public_paths(url) -> list[str]:
    """A page of every public kind: each kind of need (with its fundraising facts), its card
    and disclosure page, a programme, a fund, an enterprise, a transaction, a receipt."""
    from sqlmodel import select

    from core.db import get_engine, unit_of_work
    from donors.giving_models import GiftReceipt
    from donors.models import Enterprise
    from needs.models import PUBLIC_STATES, Need, Programme

    paths = ["/", "/needs", "/disclosure/", "/disclosure/ledger", "/disclosure/funds",
             "/disclosure/funds/F-ANXIN", "/disclosure/enterprises", "/disclosure/verify",
             "/disclosure/ledger/1", "/receipts/", "/account/sign-in"]
    with unit_of_work(get_engine(url)) as s:
        for kind in ("wish", "project", "sponsorship", "microgrant"):
            code = s.exec(select(Need.code).where(Need.kind == kind,
                                                  Need.state.in_(PUBLIC_STATES))).first()
            paths += [f"/needs/{code}", f"/needs/{code}/card", f"/disclosure/needs/{code}"]
        paths.append(f"/disclosure/programmes/{s.exec(select(Programme.code)).first()}")
        paths.append(f"/disclosure/enterprises/{s.exec(select(Enterprise.code)).first()}")
        number = s.exec(select(GiftReceipt.number)).first()
        if number:
            paths.append(f"/receipts/{number}")
    return paths


def test_the_page_itself_never_scrolls_sideways(live_url, demo_url, phone):
    """In both languages: a need page's fundraising facts (a long English term beside a
    20-character code) and the verify page's commands once widened the page to 680–770 px."""
    paths = _public_paths(demo_url)
    wide = []
    for lang in ("zh_CN", "en"):
        phone.goto(f"{live_url}/lang/{lang}")
        wide += [(lang, *page) for page in _too_wide(phone, live_url, paths)]
    assert not wide


def test_the_filter_panel_folds_behind_a_button_without_javascript(live_url, browser):
    context = browser.new_context(java_script_enabled=False, viewport=PHONE)
    try:
        page = context.new_page()
        page.goto(f"{live_url}/needs")
        form = page.locator("#need-filters")
        assert not form.is_visible()
        page.locator("label.fold-button").click()
        assert form.is_visible()
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{live_url}/needs")
        assert form.is_visible() and not page.locator("label.fold-button").is_visible()
    finally:
        context.close()


def test_the_working_pages_never_scroll_sideways(live_url, demo_url, phone, sign_in):
    """Signed in at 390 px: the enterprise dashboard (its map, its pledge table), proposals,
    a run, the fund queue and the staff lists keep their tables and map in their own
    scrolling boxes (the dashboard was 656 px wide)."""
    from sqlmodel import select

    from core.db import get_engine, unit_of_work
    from core.users import Membership, User

    with unit_of_work(get_engine(demo_url)) as s:
        def scope(email, column):
            return s.exec(select(column).join(User, User.id == Membership.user_id)
                          .where(User.email == email, column.is_not(None))).first()
        firm = scope("enterprise-reviewer@demo.shanlian", Membership.enterprise_id)
        fund = scope("fund-manager@demo.shanlian", Membership.fund_id)
    pages = {"enterprise-reviewer@demo.shanlian": [f"/enterprise/{firm}/",
                                                  f"/enterprise/{firm}/proposals",
                                                  f"/enterprise/{firm}/pledges/new"],
             "fund-manager@demo.shanlian": [f"/funds/{fund}/queue"],
             "admin@demo.shanlian": ["/matching/tranches", "/staff/payments/", "/matching/runs",
                                     "/admin/users"]}
    wide = []
    for email, paths in pages.items():
        phone.context.clear_cookies()
        sign_in(phone, email)
        for lang in ("zh_CN", "en"):
            phone.goto(f"{live_url}/lang/{lang}")
            wide += [(email, lang, *page) for page in _too_wide(phone, live_url, paths)]
    assert not wide
