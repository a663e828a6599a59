"""Keyset pages of every list of the JSON API: walking a filtered list by its `next` links
gives each row once, in the order of /needs for every sort; a row added mid-walk neither
shifts nor repeats what was listed; a cursor that is not ours, or not for this query, is a
400 problem naming `cursor`."""
from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from itsdangerous import URLSafeSerializer
from sqlmodel import select

from core.db import get_engine, unit_of_work
from readside.browse import SORTS, filtered_needs, parse_need_filter
from tests.conftest import make_app
from tests.integration.helpers import committed, org, verified_need
from web.api.cursors import SALT, fingerprint
from web.security import limiter

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def client(demo_app):
    demo_app.config["API_RATE_LIMIT"] = "100000/minute"  # one client walks many pages
    limiter.reset()
    yield demo_app.test_client()
    demo_app.config.pop("API_RATE_LIMIT", None)


def walk(client, url: str) -> tuple[list[str], list[dict]]:
    """Every page from `url` on: the codes (or ids/seqs) in order, and each page's body."""
    items, bodies = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True))
        body = response.get_json()
        bodies.append(body)
        items += [i.get("code") or i.get("seq") or i.get("id") for i in body["items"]]
        url = body["next"]
        assert len(bodies) < 500, "the walk does not end"
    return items, bodies


def page_order(url: str, args: dict[str, str]) -> list[str]:
    """What /needs lists for the same query, all on one page."""
    from needs.models import Programme

    with unit_of_work(get_engine(url)) as s:
        codes = s.exec(select(Programme.code)).all()
        f, errors = parse_need_filter(args, codes)
        assert not errors
        rows, total, _page, _t = filtered_needs(s, f, per_page=10_000)
        assert len(rows) == total
        return [n.code for n in rows]


QUERIES = [
    {"sort": sort} for sort in SORTS if sort != "relevance"
] + [
    {"kind": "wish", "sort": "deadline"},
    {"province": "山东省", "sort": "progress"},
    {"category": "助学", "sort": "amount"},
    {"state": "verified", "sort": "newest"},
    {"urgency": "3"},
    {"q": "zhuxue"},  # relevance: paged by position in the ranking
    {"q": "书包", "sort": "amount"},
]


@pytest.mark.parametrize("args", QUERIES, ids=lambda a: "&".join(f"{k}={v}" for k, v in a.items()))
def test_walking_every_page_gives_each_row_once_in_the_pages_order(client, demo_url, args):
    query = "&".join(f"{k}={v}" for k, v in args.items())
    codes, bodies = walk(client, f"/api/v1/needs?{query}&limit=7")
    expected = page_order(demo_url, args)
    assert expected, "the demo data should have rows for this query"
    assert codes == expected
    assert len(set(codes)) == len(codes) == bodies[0]["total"]
    assert all(len(b["items"]) == 7 for b in bodies[:-1]) and bodies[-1]["next"] is None
    for body in bodies[:-1]:  # the next link keeps the filters, the sort and the page size
        kept = {k: v for k, v in parse_qsl(urlsplit(body["next"]).query) if k != "cursor"}
        assert kept == {**args, "limit": "7"}


def test_every_other_list_walks_to_its_end_once(client, demo_url):
    from donors.models import Enterprise
    from funds.models import CommunityFund, LedgerTxn
    from needs.models import Programme

    with unit_of_work(get_engine(demo_url)) as s:
        funds = len(s.exec(select(CommunityFund.id)).all())
        programmes = s.exec(select(Programme.code).order_by(Programme.id)).all()
        enterprises = len(s.exec(select(Enterprise.id).where(Enterprise.status == "approved")
                                 ).all())
        head = len(s.exec(select(LedgerTxn.seq)).all())
    fund_codes, _ = walk(client, "/api/v1/funds?limit=40")
    assert len(fund_codes) == len(set(fund_codes)) == funds > 40
    assert walk(client, "/api/v1/programmes?limit=2")[0] == list(programmes)
    firms, bodies = walk(client, "/api/v1/enterprises?limit=1")
    assert len(firms) == len(set(firms)) == enterprises > 1 and len(bodies) == enterprises
    money = [b["items"][0]["paid_in"]["fen"] for b in bodies]
    assert money[0] >= money[-1]  # most money first, as on the disclosure page
    seqs, _ = walk(client, "/api/v1/ledger?limit=100")
    assert seqs == list(range(head, 0, -1))
    with unit_of_work(get_engine(demo_url)) as s:
        kinds = s.exec(select(LedgerTxn.kind, LedgerTxn.seq)).all()
    kind = max({k for k, _ in kinds}, key=lambda k: sum(1 for x, _ in kinds if x == k))
    expected = sorted((seq for k, seq in kinds if k == kind), reverse=True)
    exact = next((d for d in range(min(100, len(expected)), 1, -1) if len(expected) % d == 0), 3)
    for limit in (3, exact):  # `exact`: a full last page links to no empty page after it
        found, bodies = walk(client, f"/api/v1/ledger?kind={kind}&limit={limit}")
        assert found == expected and all(b["items"] for b in bodies)


# ---------------------------------------------------------------- rows added mid-walk ---

def _needs(url: str) -> list[str]:
    def build(s):
        organisation = org(s)
        made = []
        for i in range(12):
            need = verified_need(s, organisation, kind="project", amount=10_000 + 1_000 * i,
                                 title=f"图书角{i}", urgency=1 + i % 5,
                                 deadline=date(2030, 1, 1) + timedelta(days=i) if i % 3 else None)
            made.append(need.code)
        return made
    return committed(url, build)


def _add(url: str, **kw) -> str:
    from readside.search_cache import invalidate_search

    def build(s):
        from needs.models import Organisation

        organisation = s.exec(select(Organisation)).first()
        return verified_need(s, organisation, kind="project", **kw).code
    code = committed(url, build)
    invalidate_search()
    return code


@pytest.mark.parametrize("sort, first, middle", [
    # a row that sorts before the cursor (the reader has passed its place), and one after
    ("amount", {"amount": 99_000_000}, {"amount": 12_500}),
    ("newest", {}, None),
    ("urgency", {"urgency": 5}, {"urgency": 1}),
    ("deadline", {"deadline": date(2029, 1, 1)}, {"deadline": None}),
    ("progress", {"amount": 10_000}, None),
])
def test_a_row_added_mid_walk_neither_shifts_nor_repeats(clean_url, sort, first, middle):
    _needs(clean_url)
    app = make_app(clean_url)
    client = app.test_client()
    before = page_order(clean_url, {"sort": sort})
    page = client.get(f"/api/v1/needs?sort={sort}&limit=4").get_json()
    seen = [n["code"] for n in page["items"]]
    assert seen == before[:4]
    ahead = _add(clean_url, title="新来的需求", **first)
    assert page_order(clean_url, {"sort": sort}).index(ahead) < 4  # page 1 would now shift
    behind = _add(clean_url, title="又一个需求", **middle) if middle is not None else None
    rest, _ = walk(client, page["next"])
    walked = seen + rest
    assert ahead not in walked
    assert len(walked) == len(set(walked))
    assert [c for c in walked if c != behind] == before  # nothing skipped, nothing twice
    if behind:
        after_now = page_order(clean_url, {"sort": sort})
        assert behind in rest and after_now.index(behind) > after_now.index(seen[-1])


def test_a_search_walk_is_stable_when_a_better_match_arrives(clean_url):
    _needs(clean_url)
    client = make_app(clean_url).test_client()
    before = page_order(clean_url, {"q": "图书角"})
    assert len(before) == 12
    page = client.get("/api/v1/needs?q=图书角&limit=5").get_json()
    seen = [n["code"] for n in page["items"]]
    ahead = _add(clean_url, title="图书角")  # the exact title: it ranks first now
    assert page_order(clean_url, {"q": "图书角"})[0] == ahead
    rest, _ = walk(client, page["next"])
    assert seen + rest == before  # each once, none skipped, the newcomer not slipped in


# ----------------------------------------------------------------------- bad cursors ---

def _problem(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 400, (url, response.status_code, response.get_data())
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert [e["field"] for e in body["errors"]] == ["cursor"], body
    return body


def _cursor(url: str) -> str:
    return url.split("cursor=")[1].split("&")[0]


def test_bad_cursors_are_400_problems_naming_the_cursor(client, demo_app):
    good = client.get("/api/v1/needs?sort=amount&kind=project&limit=3").get_json()["next"]
    cursor = _cursor(good)
    payload, signature = cursor.rsplit(".", 1)
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    forged_other_key = URLSafeSerializer("not-our-secret", salt=SALT).dumps(
        ["needs:amount", fingerprint({"kind": "project", "sort": "amount"}), [1, 1]])
    with demo_app.app_context():
        ours = URLSafeSerializer(demo_app.secret_key, salt=SALT)
        print_ = fingerprint({"kind": "project", "sort": "amount"})
        wrong_shape = ours.dumps(["needs:amount", print_, ["¥100", 1]])
        too_big = ours.dumps(["needs:amount", print_, [2**70, 1]])
        too_few = ours.dumps(["needs:amount", print_, [1]])
        not_a_list = ours.dumps({"a": 1})
    base = "/api/v1/needs?sort=amount&kind=project&cursor="
    for bad in (f"{flipped}.{signature}", f"{payload}.{signature[:-3]}", cursor[:20], "abc",
                "..", "%00", "x" * 400, forged_other_key, wrong_shape, too_big, too_few,
                not_a_list):
        _problem(client, base + bad)
    # A good cursor of another query: another filter, another sort, another list.
    assert "另一个查询" in _problem(client, f"/api/v1/needs?sort=amount&kind=wish&cursor={cursor}"
                                    )["errors"][0]["detail"]
    _problem(client, f"/api/v1/needs?sort=newest&kind=project&cursor={cursor}")
    _problem(client, f"/api/v1/funds?cursor={cursor}")
    en = client.get(f"/api/v1/ledger?cursor={cursor}&lang=en").get_json()
    assert "another query" in en["errors"][0]["detail"]
    for url in ("/api/v1/programmes", "/api/v1/enterprises", "/api/v1/ledger"):
        _problem(client, f"{url}?cursor=abc")
    assert client.get(good).status_code == 200  # the untouched cursor still works
