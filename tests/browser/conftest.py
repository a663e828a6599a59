"""Browser fixtures: the app served for real on a free local port, and a Playwright page in
Debian's chromium (never a downloaded browser).

    live_url  the base URL (http://127.0.0.1:PORT) of the app over the module's demo data
    page      a fresh Playwright page (own context: no cookies, no storage) per test
    sign_in   sign_in(page, email[, password]): through the sign-in form, as a demo role
              (admin@demo.shanlian, …) by default, until the account page is shown
    page_as   page_as(email[, password], **context options): another person at the same
              time, a page in a context of its own (zh-CN), signed in; closed after the test
    new_page  new_page(**context options): the same, not signed in
    sign_up   sign_up(page, name, email, password): a new account, signed in
    fill_application  fill_application(page, name=, region=, uscc=, contact_name=, …): an
              organisation's application to join, with a PDF certificate, filled in (not sent)

Without /usr/bin/chromium (or the playwright package) browser tests skip; under CI they fail.
"""
from __future__ import annotations

import os
import re
import threading

import pytest
from werkzeug.serving import make_server

from demo.h8a_data import PASSWORD
from tests.conftest import IN_CI, make_app
from tests.integration.onboarding_helpers import PDF

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def _need_browser() -> None:
    problem = None
    if not os.path.exists(CHROMIUM):
        problem = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed"
    if problem:
        if IN_CI:
            pytest.fail(f"browser tests are required under CI: {problem}")
        pytest.skip(problem)


@pytest.fixture(scope="module")
def live_url(demo_url):
    """Serve the app over the demo data in a background thread (werkzeug, threaded)."""
    app = make_app(demo_url)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="session")
def browser():
    _need_browser()
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        chromium = pw.chromium.launch(executable_path=CHROMIUM,
                                      args=["--no-sandbox", "--disable-background-networking"])
    except Exception as exc:  # e.g. a chromium that cannot start here
        pw.stop()
        if IN_CI:
            raise
        pytest.skip(f"chromium does not start: {exc}")
    yield chromium
    chromium.close()
    pw.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def sign_in(live_url):
    def sign_in(page, email: str, password: str = PASSWORD) -> None:
        page.goto(f"{live_url}/account/sign-in")
        page.fill("#email", email)
        page.fill("#password", password)
        page.click("form.form button[type=submit]")
        page.wait_for_url(re.compile(r"/account/$"))  # signed in: the account page
    return sign_in


@pytest.fixture
def new_page(browser):
    contexts = []

    def new_page(**options):
        context = browser.new_context(**{"locale": "zh-CN", **options})
        contexts.append(context)
        return context.new_page()
    yield new_page
    for context in contexts:
        context.close()


@pytest.fixture
def page_as(new_page, sign_in):
    def page_as(email: str, password: str = PASSWORD, **options):
        page = new_page(**options)
        sign_in(page, email, password)
        return page
    return page_as


@pytest.fixture
def sign_up(live_url):
    def sign_up(page, name: str, email: str, password: str) -> None:
        from playwright.sync_api import expect

        page.goto(f"{live_url}/account/sign-up")
        page.fill("#name", name)
        page.fill("#email", email)
        page.fill("#password", password)
        page.click("form.form button[type=submit]")
        expect(page).to_have_url(re.compile(r"/account/$"))
    return sign_up


@pytest.fixture
def fill_application(live_url):
    def fill_application(page, *, name: str, region: str, uscc: str, contact_name: str,
                         contact_phone: str, contact_email: str) -> None:
        page.goto(f"{live_url}/onboarding/apply")
        page.select_option("#kind", "organisation")
        page.fill("#name", name)
        page.select_option("#region", region)
        page.fill("#uscc", uscc)
        page.set_input_files("#certificate", files=[{"name": "certificate.pdf",
                                                      "mimeType": "application/pdf",
                                                      "buffer": PDF}])
        page.fill("#contact_name", contact_name)
        page.fill("#contact_phone", contact_phone)
        page.fill("#contact_email", contact_email)
    return fill_application
