"""The public-page micro-cache serves repeats from memory but never a stale page."""
from core.db import get_engine, unit_of_work
from donors import services as donors
from needs.models import Need
from tests.conftest import make_app
from tests.integration.helpers import committed, org, verified_need
from web import page_cache


def _stats(app):
    with app.app_context():
        return page_cache.stats()


def test_repeat_is_a_hit_and_a_donation_invalidates_it(clean_url):
    need_id, code = committed(clean_url, lambda s: (lambda n: (n.id, n.code))(
        verified_need(s, org(s), kind="project", amount=100_000, title="助老食堂")))
    app = make_app(clean_url)
    client = app.test_client()
    first = client.get(f"/needs/{code}").get_data(as_text=True)
    second = client.get(f"/needs/{code}").get_data(as_text=True)
    assert first == second
    assert _stats(app)["hits"] == 1

    donor_id = committed(clean_url, lambda s: donors.create_donor(s, "张三").id)
    with unit_of_work(get_engine(clean_url)) as s:
        donors.donate_to_need(s, s.get(donors.Donor, donor_id), s.get(Need, need_id), 12_345)
    after = client.get(f"/needs/{code}").get_data(as_text=True)
    assert "¥123.45" in after and "¥123.45" not in first


def test_language_and_htmx_requests_are_separate_entries(clean_url):
    app = make_app(clean_url)
    client = app.test_client()
    chinese = client.get("/needs").get_data(as_text=True)
    english = client.get("/needs?lang=en").get_data(as_text=True)
    partial = client.get("/needs", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert chinese != english and chinese != partial
    assert "<html" in chinese and "<html" not in partial
    assert client.get("/needs").get_data(as_text=True) == chinese


def test_downloads_and_errors_are_not_cached(clean_url):
    app = make_app(clean_url)
    client = app.test_client()
    for _ in range(2):
        assert client.get("/disclosure/ledger.jsonl").status_code == 200
        assert client.get("/needs/W-404").status_code == 404
    assert _stats(app)["entries"] == 0


def test_a_page_that_sets_a_cookie_is_never_shared(clean_url):
    from flask import session

    app = make_app(clean_url)
    served = []

    def personal():  # e.g. a form whose CSRF token lives in the visitor's session
        served.append(1)
        session["csrf"] = f"token-{len(served)}"
        return session["csrf"]

    app.add_url_rule("/personal", endpoint="public.personal", view_func=personal)
    first = app.test_client().get("/personal").get_data(as_text=True)
    second = app.test_client().get("/personal").get_data(as_text=True)
    assert (first, second) == ("token-1", "token-2")
    assert _stats(app)["entries"] == 0
