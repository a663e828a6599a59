"""GET /needs: filters, sorts, pagination, search, htmx partial vs full page, bad values."""
import re

import pytest
from sqlmodel import select

from core.db import get_engine, unit_of_work
from core.regions import within
from needs.models import PUBLIC_STATES, Need, Programme

HX = {"HX-Request": "true"}
CODE = re.compile(r'href="/needs/([A-Za-z0-9-]+)"')


def codes(body: str) -> list[str]:
    return [c for c in CODE.findall(body) if c != "regions"]


def get(client, url, **kw):
    response = client.get(url, **kw)
    assert response.status_code < 500, url
    return response, response.get_data(as_text=True)


@pytest.fixture(scope="module")
def public(demo_url):
    """Every public need of the demo data, read straight from the database."""
    with unit_of_work(get_engine(demo_url)) as s:
        rows = s.exec(select(Need).where(Need.state.in_(PUBLIC_STATES))).all()
        programmes = {p.id: p.code for p in s.exec(select(Programme)).all()}
        hidden = s.exec(select(Need).where(Need.state.not_in(PUBLIC_STATES))).all()
    return {"needs": {n.code: n for n in rows}, "programmes": programmes, "hidden": hidden}


def all_codes(client, url: str) -> list[str]:
    """Codes over every page of a listing, in order."""
    out, page = [], 1
    while True:
        sep = "&" if "?" in url else "?"
        response, body = get(client, f"{url}{sep}page={page}")
        assert response.status_code == 200, (url, body)
        out += codes(body)
        if 'rel="next"' not in body:
            return out
        page += 1


def test_full_page_has_the_form_and_every_public_need(demo_client, public):
    response, body = get(demo_client, "/needs")
    assert response.status_code == 200
    assert '<form id="need-filters"' in body and "<html" in body
    assert f"共 {len(public['needs'])} 项经核实的需求" in body
    listed = all_codes(demo_client, "/needs")
    assert sorted(listed) == sorted(public["needs"])  # every public need once, nothing hidden


@pytest.mark.parametrize("arg,value,attr", [
    ("kind", "wish", "kind"), ("kind", "sponsorship", "kind"), ("category", "助老", "category"),
    ("state", "funded", "state"), ("state", "verified", "state"),
])
def test_simple_filters(demo_client, public, arg, value, attr):
    listed = all_codes(demo_client, f"/needs?{arg}={value}")
    expected = {c for c, n in public["needs"].items() if getattr(n, attr) == value}
    assert expected and set(listed) == expected


def test_programme_filter(demo_client, public):
    listed = all_codes(demo_client, "/needs?programme=haisi")
    expected = {c for c, n in public["needs"].items() if public["programmes"].get(n.programme_id) == "haisi"}
    assert expected and set(listed) == expected


def test_urgency_is_at_least(demo_client, public):
    listed = all_codes(demo_client, "/needs?urgency=4")
    expected = {c for c, n in public["needs"].items() if n.urgency >= 4}
    assert expected and set(listed) == expected and len(expected) < len(public["needs"])


@pytest.mark.parametrize("query,prefix", [
    ("province=山东省", "山东省"),
    ("province=山东省&city=滨州市", "山东省/滨州市"),
    ("province=山东省&city=滨州市&county=邹平市", "山东省/滨州市/邹平市"),
    ("region=广西壮族自治区/北海市/合浦县", "广西壮族自治区/北海市/合浦县"),
    # a leftover city from another province (the cascade changed above it) is dropped quietly
    ("province=广西壮族自治区&city=滨州市", "广西壮族自治区"),
])
def test_region_cascade(demo_client, public, query, prefix):
    listed = all_codes(demo_client, f"/needs?{query}")
    expected = {c for c, n in public["needs"].items() if within(n.region, prefix)}
    assert expected and set(listed) == expected


def test_filters_combine(demo_client, public):
    listed = all_codes(demo_client, "/needs?province=山东省&city=潍坊市&category=助学&kind=sponsorship")
    expected = {c for c, n in public["needs"].items()
                if within(n.region, "山东省/潍坊市") and n.category == "助学" and n.kind == "sponsorship"}
    assert expected and set(listed) == expected


def test_region_partial_lists_children(demo_client):
    response, body = get(demo_client, "/needs/regions?province=山东省&city=潍坊市", headers=HX)
    assert response.status_code == 200 and "<html" not in body
    assert 'value="潍坊市" selected' in body and "青州市" in body and "邹平市" not in body
    _, body = get(demo_client, "/needs/regions?province=火星", headers=HX)
    assert "滨州市" not in body and 'id="city"' in body  # unknown: empty, disabled select


@pytest.mark.parametrize("sort,key,reverse", [
    ("urgency", lambda n: (n.urgency, n.posted_at, n.id), True),
    ("newest", lambda n: (n.posted_at, n.id), True),
    ("amount", lambda n: (n.amount, n.id), True),
])
def test_sorts(demo_client, public, sort, key, reverse):
    listed = all_codes(demo_client, f"/needs?sort={sort}")
    expected = sorted(public["needs"].values(), key=key, reverse=reverse)
    assert listed == [n.code for n in expected]


def test_sort_closest_to_goal(demo_client, public):
    listed = [public["needs"][c] for c in all_codes(demo_client, "/needs?sort=progress")]
    open_ones = [n for n in listed if n.funded < n.amount]
    assert listed[:len(open_ones)] == open_ones  # fully funded ones last
    ratios = [n.funded * 10_000 // n.amount for n in open_ones]
    assert ratios == sorted(ratios, reverse=True) and ratios[0] > 0


def test_sort_deadline_soonest_first_then_none(demo_client, public):
    listed = [public["needs"][c] for c in all_codes(demo_client, "/needs?sort=deadline")]
    dated = [n.deadline for n in listed if n.deadline]
    assert dated == sorted(dated)
    assert all(n.deadline is None for n in listed[len(dated):])


def test_pagination(demo_client, public):
    _, one = get(demo_client, "/needs?kind=project")
    _, two = get(demo_client, "/needs?kind=project&page=2")
    assert len(codes(one)) == 20 and codes(two) and not set(codes(one)) & set(codes(two))
    # pager links keep the filters
    assert 'href="/needs?kind=project&amp;page=2"' in one
    # past the end: the last page, not an empty one
    _, far = get(demo_client, "/needs?kind=project&page=999")
    last = all_codes(demo_client, "/needs?kind=project")
    assert codes(far) == last[-len(codes(far)):] and codes(far)


def test_htmx_gets_only_the_partial_and_the_canonical_url(demo_client):
    response, body = get(demo_client, "/needs?kind=wish&city=&q=&page=1", headers=HX)
    assert response.status_code == 200
    assert "<html" not in body and "<form" not in body and "共 " in body
    assert response.headers["HX-Push-Url"] == "/needs?kind=wish"
    assert "HX-Request" in response.headers.get("Vary", "")
    full, body = get(demo_client, "/needs?kind=wish")
    assert "<html" in body and "HX-Push-Url" not in full.headers


def test_htmx_history_restore_gets_the_full_page(demo_client):
    _, body = get(demo_client, "/needs?kind=wish",
                  headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in body and '<form id="need-filters"' in body


def test_a_direct_visit_restores_the_form_state(demo_client):
    _, body = get(demo_client, "/needs?kind=wish&province=山东省&city=滨州市&q=助学&sort=amount")
    assert '<option value="wish" selected>' in body
    assert '<option value="滨州市" selected>' in body and '<option value="邹平市" >' in body
    assert 'value="助学"' in body and '<option value="amount" selected>' in body


@pytest.mark.parametrize("query,message", [
    ("kind=rocket", "需求类型“rocket”无效"),
    ("category=助火", "领域“助火”无效"),
    ("programme=nope", "“nope”无效"),
    ("state=draft", "状态“draft”无效"),          # not a public state: never listable
    ("state=rejected", "状态“rejected”无效"),
    ("urgency=9", "紧急程度应为 1 到 5"),
    ("urgency=abc", "紧急程度应为 1 到 5"),
    ("page=-1", "页码“-1”无效"),
    ("page=abc", "页码“abc”无效"),
    ("sort=random", "排序方式“random”无效"),
    ("province=火星", "未知地区“火星”"),
    ("city=滨州市", "请先选择省份"),
    ("region=山东省/滨州市/邹平市/黄山街道", "地区只能筛选到县级"),
])
def test_bad_values_get_a_clear_message(demo_client, public, query, message):
    response, body = get(demo_client, f"/needs?{query}")
    assert response.status_code == 400
    assert message in body and 'role="alert"' in body
    assert codes(body)  # the rest still lists (the bad value is left out)
    response, body = get(demo_client, f"/needs?{query}", headers=HX)
    # A refused input is a 4xx for htmx too: 422, which base.html's htmx-config swaps.
    assert response.status_code == 422 and message in body


def test_bad_value_in_english(demo_client):
    _, body = get(demo_client, "/needs?kind=rocket&lang=en")
    assert "unknown kind" in body


def test_search_pinyin_and_filters_combine(demo_client, public):
    listed = codes(get(demo_client, "/needs?q=zhuxue")[1])
    assert listed and all("助学" in (public["needs"][c].title + public["needs"][c].category
                                    + public["needs"][c].story) for c in listed)
    wishes = all_codes(demo_client, "/needs?q=zhuxue&kind=wish")
    assert wishes and all(public["needs"][c].kind == "wish" for c in wishes)


def test_search_typo_and_traditional(demo_client, public):
    bag = [c for c, n in public["needs"].items() if "书包" in n.title]
    assert bag
    assert codes(get(demo_client, "/needs?q=書包")[1])[0] in bag
    assert codes(get(demo_client, "/needs?q=shubao")[1])[0] in bag
    assert codes(get(demo_client, "/needs?q=新书保")[1])[0] in bag  # 包 → 保


def test_search_with_sort_overrides_relevance(demo_client, public):
    listed = all_codes(demo_client, "/needs?q=zhuxue&sort=amount")
    amounts = [(public["needs"][c].amount, public["needs"][c].id) for c in listed]
    assert amounts == sorted(amounts, reverse=True)


def test_search_never_finds_hidden_needs(demo_client, public):
    visible_titles = {n.title for n in public["needs"].values()}
    for need in public["hidden"]:
        if need.title in visible_titles:
            continue
        body = get(demo_client, f"/needs?q={need.title}")[1]
        assert need.code not in codes(body)
        assert f"<strong>{need.title}</strong>" not in body


def test_search_garbage_finds_nothing_politely(demo_client):
    response, body = get(demo_client, "/needs?q=%21%40%23%24")
    assert response.status_code == 200 and "没有符合条件的需求" in body
    response, body = get(demo_client, "/needs?q=" + "x" * 5000)
    assert response.status_code == 200


def test_search_does_not_reveal_places_below_the_county(demo_client, public):
    towns = {n.region.split("/")[3] for n in public["needs"].values() if n.region.count("/") >= 3}
    assert towns
    for town in towns:
        for code in codes(get(demo_client, f"/needs?q={town}")[1]):
            need = public["needs"][code]
            assert town in need.title + need.story  # found by its text, never by its address


# Runs last: it empties the database the module's demo data lives in.
def test_search_index_refreshes_when_a_need_is_verified(app, clean_url):
    from needs import services

    engine = get_engine(clean_url)
    with unit_of_work(engine) as s:
        org = services.create_organisation(s, "测试慈善会", "山东省/滨州市/滨城区", status="approved")
        first = services.create_need(s, org, kind="wish", title="一台收音机", amount=10_000,
                                     category="助老", region="山东省/滨州市/滨城区")
        services.submit(s, first)
        services.verify(s, first)
    client = app.test_client()
    assert codes(get(client, "/needs?q=shouyinji")[1]) == [first.code]
    assert codes(get(client, "/needs?q=电饭锅")[1]) == []
    with unit_of_work(engine) as s:
        org = s.merge(org)
        second = services.create_need(s, org, kind="wish", title="一只电饭锅", amount=20_000,
                                      category="助老", region="山东省/滨州市/滨城区")
        services.submit(s, second)
    assert codes(get(client, "/needs?q=电饭锅")[1]) == []  # submitted, not yet public
    with unit_of_work(engine) as s:
        services.verify(s, s.merge(second))
    assert codes(get(client, "/needs?q=dianfanguo")[1]) == [second.code]


def test_htmx_is_told_to_swap_422_responses(demo_client):
    import json
    import re

    _response, body = get(demo_client, "/needs")
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", body)[1])
    rules = {rule["code"]: rule for rule in config["responseHandling"]}
    assert rules["422"]["swap"] is True and rules["[45].."]["swap"] is False
