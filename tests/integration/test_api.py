"""The JSON API (/api/v1/): the same data as the public pages, problem details for every
refusal in the caller's language, keyset pages, ETag/304, rate limits, and the OpenAPI
document it is described by."""
from __future__ import annotations

import pytest

from web.security import limiter

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def client(demo_app):
    return demo_app.test_client()


def test_needs_list_pages_with_next_links(client):
    first = client.get("/api/v1/needs")
    assert first.status_code == 200, first.get_data(as_text=True)
    body = first.get_json()
    assert body["total"] > 20 and len(body["items"]) == 20
    assert body["next"].startswith("/api/v1/needs?cursor=")
    codes = {n["code"] for n in body["items"]}
    second = client.get(body["next"]).get_json()
    assert second["total"] == body["total"] and len(second["items"]) == 20
    assert not codes & {n["code"] for n in second["items"]}
    item = body["items"][0]
    assert isinstance(item["amount"]["fen"], int) and item["amount"]["text"].startswith("¥")
    assert item["url"] == f"/api/v1/needs/{item['code']}"


def test_filters_and_search_match_the_needs_page(client):
    from needs.models import CATEGORIES

    by_kind = client.get("/api/v1/needs?kind=sponsorship").get_json()
    assert by_kind["total"] > 0 and {n["kind"] for n in by_kind["items"]} == {"sponsorship"}
    assert client.get("/api/v1/needs?category=" + CATEGORIES[2]).status_code == 200
    # pinyin search finds 助学 needs, as on /needs
    found = client.get("/api/v1/needs?q=zhuxue").get_json()
    assert found["total"] > 0 and all(n["category"] == "助学" or "助学" in n["title"]
                                      or n["kind"] == "sponsorship" for n in found["items"][:3])
    ordered = client.get("/api/v1/needs?sort=amount").get_json()["items"]
    amounts = [n["amount"]["fen"] for n in ordered]
    assert amounts == sorted(amounts, reverse=True)


def test_one_need_has_its_money_trail_and_no_private_fields(client, demo_url):
    from sqlmodel import select

    from core.db import get_engine, unit_of_work
    from funds.models import Disbursement
    from needs.models import Need

    with unit_of_work(get_engine(demo_url)) as s:
        code = s.exec(select(Need.code).join(Disbursement, Disbursement.need_id == Need.id)
                      ).first()
    body = client.get(f"/api/v1/needs/{code}").get_json()
    assert body["code"] == code and body["disbursements"]
    assert {"allocations", "grants", "evidence", "milestones", "donors"} <= body.keys()
    assert "beneficiary_id" not in body and "organisation_id" not in body
    if body["beneficiary"]:
        assert set(body["beneficiary"]) == {"pseudonym", "age_band"}
    assert body["region"].count("/") == 0  # county level, like the page


def test_collections_and_totals(client):
    programmes = client.get("/api/v1/programmes").get_json()["items"]
    funds = client.get("/api/v1/funds").get_json()
    enterprises = client.get("/api/v1/enterprises").get_json()["items"]
    totals = client.get("/api/v1/totals").get_json()
    assert programmes and funds["items"] and enterprises
    assert funds["total"] > 50 and len(funds["items"]) == 50  # 147 funds
    assert funds["next"].startswith("/api/v1/funds?cursor=")
    second = client.get(funds["next"]).get_json()["items"]
    assert len(second) == 50 and not {f["code"] for f in second} & {
        f["code"] for f in funds["items"]}
    assert totals["needs"] > 0 and totals["money_in"]["fen"] >= totals["disbursed"]["fen"]
    links = client.get("/api/v1/").get_json()["links"]
    # every link answers (the checkpoint once the clock has signed one: none in the demo)
    assert {name: client.get(url).status_code for name, url in links.items()} == \
        {name: 404 if name == "checkpoint" else 200 for name in links}


def test_ledger_keyset_pages_cover_the_chain_once(client):
    seen: list[int] = []
    url = "/api/v1/ledger"
    head = client.get(url).get_json()["head"]
    while url:
        body = client.get(url).get_json()
        seen += [t["seq"] for t in body["items"]]
        url = body["next"]
    assert seen == list(range(head, 0, -1))
    one = client.get("/api/v1/ledger").get_json()["items"][0]
    assert sum(p["amount"]["fen"] for p in one["postings"]) == 0  # balanced
    assert all(p["label"] != p["account"] or not p["account"].startswith("donor:")
               for p in one["postings"])


@pytest.mark.parametrize("url, field", [
    ("/api/v1/needs?kind=rocket", "kind"),
    ("/api/v1/needs?urgency=9", "urgency"),
    ("/api/v1/needs?cursor=abc", "cursor"),
    ("/api/v1/needs?limit=0", "limit"),
    ("/api/v1/needs?programme=nope", "programme"),
    ("/api/v1/needs?province=火星", "region"),
    ("/api/v1/ledger?before=0", "before"),
    ("/api/v1/funds?limit=-1", "limit"),
    ("/api/v1/funds?cursor=abc", "cursor"),
])
def test_bad_input_is_a_problem_naming_the_field(client, url, field):
    response = client.get(url)
    assert response.status_code == 400 and response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == 400 and body["instance"] == url.split("?")[0]
    assert [e["field"] for e in body["errors"]] == [field]
    assert field in body["detail"]


def test_problems_speak_the_requested_language(client):
    zh = client.get("/api/v1/needs?kind=rocket").get_json()
    en = client.get("/api/v1/needs?kind=rocket", headers={"Accept-Language": "en-US,en;q=0.9"})
    by_param = client.get("/api/v1/needs?kind=rocket&lang=en").get_json()
    assert "参数" in zh["errors"][0]["detail"]
    assert en.get_json()["title"] == by_param["title"] != zh["title"]
    assert "kind" in en.get_json()["errors"][0]["detail"] and "参数" not in by_param["detail"]
    assert "Accept-Language" in en.headers["Vary"]
    preferred = client.get("/api/v1/needs?kind=rocket",
                           headers={"Accept-Language": "en-GB,zh-CN;q=0.5"}).get_json()
    assert preferred["title"] == by_param["title"]  # English is preferred, even as en-GB
    assert client.get("/api/v1/needs?kind=rocket", headers={"Accept-Language": "fr"}
                      ).get_json()["title"] == zh["title"]


def test_unknown_things_are_404_problems(client):
    for url in ("/api/v1/needs/NOPE-1", "/api/v1/needs/%00", "/api/v1/nothing/here"):
        response = client.get(url)
        assert response.status_code == 404 and response.mimetype == PROBLEM, url
        assert response.get_json()["status"] == 404


def test_hidden_needs_are_not_in_the_api(client, demo_url):
    from sqlmodel import select

    from core.db import get_engine, unit_of_work
    from needs.models import PUBLIC_STATES, Need

    with unit_of_work(get_engine(demo_url)) as s:
        hidden = s.exec(select(Need.code).where(Need.state.not_in(PUBLIC_STATES))).all()
    assert hidden
    for code in hidden:
        assert client.get(f"/api/v1/needs/{code}").status_code == 404


def test_etag_answers_304_until_the_data_changes(demo_app):
    client = demo_app.test_client()
    first = client.get("/api/v1/totals")
    etag = first.headers["ETag"]
    again = client.get("/api/v1/totals", headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.get_data()
    english = client.get("/api/v1/totals?lang=en", headers={"If-None-Match": etag})
    assert english.status_code == 200  # another language is another representation
    from core.data_version import bump
    from core.db import get_engine

    with get_engine(demo_app.config["SHANLIAN"].database_url).begin() as conn:
        bump(conn)
    assert client.get("/api/v1/totals", headers={"If-None-Match": etag}).status_code == 200


def test_rate_limit_answers_429_with_retry_after(demo_app):
    demo_app.config["API_RATE_LIMIT"] = "3/minute"
    try:
        limiter.reset()
        client = demo_app.test_client()
        codes = [client.get("/api/v1/totals").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = client.get("/api/v1/needs?lang=en")
        assert refused.status_code == 429 and refused.mimetype == PROBLEM
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.get_json()["title"] == "Too many requests"
    finally:
        demo_app.config.pop("API_RATE_LIMIT")
        limiter.reset()


def test_rate_limit_headers_count_down_one_budget_for_the_whole_api(demo_app):
    demo_app.config["API_RATE_LIMIT"] = "5/minute"
    try:
        limiter.reset()
        client = demo_app.test_client()
        answers = [client.get(url) for url in ("/api/v1/totals", "/api/v1/needs",
                                                "/api/v1/needs?kind=wish")]
        assert [a.headers["X-RateLimit-Limit"] for a in answers] == ["5"] * 3
        assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["4", "3", "2"]
        client.get("/api/v1/")
        client.get("/api/v1/funds")
        refused = client.get("/api/v1/totals")
        assert refused.status_code == 429 and refused.headers["X-RateLimit-Remaining"] == "0"
        assert int(refused.headers["X-RateLimit-Reset"]) > 0
        assert 0 < int(refused.headers["Retry-After"]) <= 60
    finally:
        demo_app.config.pop("API_RATE_LIMIT")
        limiter.reset()


def test_openapi_document_describes_every_api_route(client, demo_app):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    routes = {r.rule.replace("<code>", "{code}") for r in demo_app.url_map.iter_rules()
              if r.endpoint.startswith("api.") and r.endpoint not in
              ("api.openapi", "api.docs", "api.unknown")}
    assert len(routes) >= 8 and routes == set(doc["paths"])
    problem = doc["paths"]["/api/v1/needs"]["get"]["responses"]["400"]["content"]
    assert list(problem) == [PROBLEM]


def test_docs_page_loads_pinned_assets_without_inline_script(client):
    page = client.get("/api/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html and "/static/api-docs.js" in html
    assert "<script>" not in html and "style=" not in html and "http" not in html.split("<body>")[1]
    assert client.get("/static/api-docs.js").status_code == 200


def test_the_api_is_public_for_reading_only(clean_url):
    """An API route that writes and forgot its @requires is refused, for everyone."""
    from tests.conftest import make_app
    from web.permissions import access_of

    app = make_app(clean_url)
    app.add_url_rule("/api/v1/forgotten", endpoint="api.forgotten", methods=["GET", "POST"],
                     view_func=lambda: {"written": True})
    client = app.test_client()
    assert client.post("/api/v1/forgotten").status_code == 403
    assert client.get("/api/v1/forgotten").status_code == 200
    assert access_of(app, "api.forgotten", "POST") is None
    assert access_of(app, "api.needs", "GET") == "public"
