"""The cache-miss path of the public pages (issue 14): with the page cache off every request
renders, from caches of reference rows, labels and fragments that follow the data scopes; a
change is shown on the next request all the same. Public reads run in autocommit on
PostgreSQL and may not write."""
import re

import pytest
from sqlalchemy import text

from core.db import get_engine, unit_of_work
from donors import services as donors
from needs.models import Need, Programme
from tests.conftest import make_app
from tests.integration.helpers import committed, org, verified_need
from web.db import db_session


@pytest.fixture
def one_project(clean_url):
    def build(s):
        o = org(s)
        need = verified_need(s, o, kind="project", amount=100_000, title="助老食堂")
        donor = donors.create_donor(s, "张三")
        return need.id, need.code, donor.id

    return committed(clean_url, build)


def _no_page_cache(url):
    app = make_app(url)
    app.config["PAGE_CACHE"] = False
    return app


def test_without_the_page_cache_a_gift_shows_on_every_page_at_once(clean_url, one_project):
    need_id, code, donor_id = one_project
    client = _no_page_cache(clean_url).test_client()
    pages = ["/needs", f"/needs/{code}", f"/disclosure/needs/{code}", "/disclosure/",
             f"/api/v1/needs/{code}"]
    before = {url: client.get(url).get_data(as_text=True) for url in pages}
    with unit_of_work(get_engine(clean_url)) as s:
        donors.donate_to_need(s, s.get(donors.Donor, donor_id), s.get(Need, need_id), 12_345)
    after = {url: client.get(url).get_data(as_text=True) for url in pages}
    for url in pages:
        assert "123.45" in after[url] and "123.45" not in before[url], url
    # The ledger rows name the need's account (a label kept per site and lists version).
    assert "助老食堂" in after[f"/disclosure/needs/{code}"]


def test_a_renamed_programme_shows_at_once_without_the_page_cache(clean_url, one_project):
    _need_id, code, _donor_id = one_project

    def add_programme(s):
        programme = Programme(code="yimi", name="一米阳光", region="山东省/滨州市")
        s.add(programme)
        s.flush()
        s.get(Need, _need_id).programme_id = programme.id
        return programme.id

    programme_id = committed(clean_url, add_programme)
    client = _no_page_cache(clean_url).test_client()
    assert "一米阳光" in client.get("/needs").get_data(as_text=True)
    assert client.get(f"/api/v1/needs/{code}").get_json()["programme"] == "yimi"

    def rename(s):
        programme = s.get(Programme, programme_id)
        programme.name, programme.code = "焕新乐园", "huanxin"

    committed(clean_url, rename)
    page = client.get("/needs").get_data(as_text=True)
    assert "焕新乐园" in page and "一米阳光" not in page
    assert client.get(f"/api/v1/needs/{code}").get_json()["programme"] == "huanxin"


def test_the_signed_out_chrome_is_in_the_page_language(clean_url, one_project):
    client = _no_page_cache(clean_url).test_client()
    chinese = client.get("/needs").get_data(as_text=True)
    english = client.get("/needs?lang=en").get_data(as_text=True)
    assert "登录" in chinese and "需求与项目" in chinese
    assert "登录" not in english and "需求与项目" not in english
    assert 'lang="en"' in english


def test_a_public_read_on_postgresql_runs_in_autocommit_and_may_not_write(clean_url,
                                                                           one_project):
    app = _no_page_cache(clean_url)
    if get_engine(clean_url).dialect.name != "postgresql":
        pytest.skip("autocommit reads are a PostgreSQL path")
    with app.test_request_context("/needs"):
        app.preprocess_request()
        session = db_session()
        assert session.connection().connection.dbapi_connection.autocommit is True
        with pytest.raises(RuntimeError, match="read-only request wrote"):
            session.execute(text("UPDATE need SET title = 'x' WHERE id = -1"))
    with app.test_request_context("/needs", method="POST"):
        assert db_session().connection().connection.dbapi_connection.autocommit is False


def test_a_renamed_need_is_renamed_in_its_ledger_rows_without_a_new_posting(clean_url,
                                                                            one_project):
    """The first page of an account's transactions is kept with its labels
    (readside.ledger_pages.account_txns): a new name, which posts nothing, is still shown on
    the next request, in the heading and in every row naming the account."""
    need_id, code, donor_id = one_project
    with unit_of_work(get_engine(clean_url)) as s:
        donors.donate_to_need(s, s.get(donors.Donor, donor_id), s.get(Need, need_id), 5_000)
    client = _no_page_cache(clean_url).test_client()
    assert "助老食堂" in client.get(f"/disclosure/needs/{code}").get_data(as_text=True)

    def rename(s):
        s.get(Need, need_id).title = "爱心助老食堂二期"

    committed(clean_url, rename)
    page = client.get(f"/disclosure/needs/{code}").get_data(as_text=True)
    named = re.findall(rf'<a href="/disclosure/needs/{code}">([^<]*)</a> <code>need:{code}',
                       page)
    assert named == ["爱心助老食堂二期"]  # the posting's account, named anew
