"""Browser fixtures: the app served for real on a free local port, and a Playwright page in
Debian's chromium (never a downloaded browser).

    live_url  the base URL (http://127.0.0.1:PORT) of the app over the module's demo data
    page      a fresh Playwright page (own context: no cookies, no storage) per test

Without /usr/bin/chromium (or the playwright package) browser tests skip; under CI they fail.
"""
from __future__ import annotations

import os
import threading

import pytest
from werkzeug.serving import make_server

from tests.conftest import IN_CI, make_app

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
