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


def test_a_new_programme_shows_on_the_home_page_at_once(clean_url):
    """It writes no ledger transaction and no audit entry: only the data version moves."""
    from needs import services

    app = make_app(clean_url)
    client = app.test_client()
    before = client.get("/").get_data(as_text=True)
    assert "新时代文明实践" not in before
    committed(clean_url, lambda s: services.create_programme(
        s, "wenming", "新时代文明实践", "山东省/滨州市").id)
    assert "新时代文明实践" in client.get("/").get_data(as_text=True)
    assert _stats(app)["hits"] == 0


def test_a_donor_who_switches_to_masked_is_no_longer_named(clean_url):
    """A privacy change moves neither the ledger nor the audit log; the cached page must go."""
    need_id, code = committed(clean_url, lambda s: (lambda n: (n.id, n.code))(
        verified_need(s, org(s), kind="project", amount=100_000, title="助老食堂")))
    donor_id = committed(clean_url, lambda s: donors.create_donor(s, "王小明", show_name=True).id)
    with unit_of_work(get_engine(clean_url)) as s:
        donors.donate_to_need(s, s.get(donors.Donor, donor_id), s.get(Need, need_id), 5_000)
    app = make_app(clean_url)
    client = app.test_client()
    assert "王小明" in client.get(f"/needs/{code}").get_data(as_text=True)
    with unit_of_work(get_engine(clean_url)) as s:
        s.get(donors.Donor, donor_id).show_name = False
    page = client.get(f"/needs/{code}").get_data(as_text=True)
    assert "王小明" not in page and "王**" in page


def test_the_data_version_moves_only_when_something_was_written(clean_url):
    from core.data_version import data_version
    from needs import services as needs_services

    engine = get_engine(clean_url)
    with unit_of_work(engine) as s:
        start = data_version(s)
    with unit_of_work(engine) as s:  # reads only
        s.exec(Need.__table__.select()).all()
    with unit_of_work(engine) as s:
        assert data_version(s) == start
    committed(clean_url, lambda s: org(s).id)
    with unit_of_work(engine) as s:
        assert data_version(s) == start + 1
    try:
        with unit_of_work(engine) as s:
            needs_services.create_organisation(s, "回滚的机构", "山东省/滨州市/邹平市")
            s.flush()
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    with unit_of_work(engine) as s:
        assert data_version(s) == start + 1
