"""The 省 → 市 → 县 picker of the pledge form: the htmx partial that loads a province's cities
and a city's counties, and the same form without JavaScript (its buttons re-render it with
the next level, or keep a region and start another), then the pledge with those regions."""
import re

import pytest
from sqlmodel import select

from core.db import get_engine, unit_of_work
from core.regions import KNOWN, RegionError, cascade
from donors import services as donors
from donors.models import Pledge
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from tests.integration.helpers import committed

HX = {"HX-Request": "true"}
PLEDGE = {"title": "滨州助学", "budget": "1000", "categories": ["助学"], "need_kinds": ["wish"]}


def _options(html: str, select_id: str) -> list[str]:
    body = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert body, f"no #{select_id}"
    return [v for v in re.findall(r'<option value="([^"]*)"', body.group(1)) if v]


def _selected(html: str, select_id: str) -> str | None:
    body = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
    found = re.search(r'<option value="([^"]*)" selected>', body)
    return found.group(1) if found else None


def test_cascade_keeps_known_levels_and_drops_leftovers():
    assert cascade().cities == [] and "山东省" in cascade().provinces
    pick = cascade("山东省", "滨州市", "邹平市")
    assert pick.path == "山东省/滨州市/邹平市" and "潍坊市" in pick.cities
    assert cascade("山东省", "北海市", "合浦县").path == "山东省"  # a city of another province
    assert cascade("山东省", "滨州市", "合浦县").path == "山东省/滨州市"
    with pytest.raises(RegionError):
        cascade("火星省")


def test_partial_lists_a_provinces_cities_then_a_citys_counties(app):
    client = app.test_client()  # public: the administrative tree is no secret
    response = client.get("/regions/picker", query_string={"region_province": "山东省"},
                          headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert _options(response.text, "region_city") == list(KNOWN["山东省"])
    assert 'id="region_county" name="region_county" disabled' in response.text
    response = client.get("/regions/picker", query_string={
        "region_province": "山东省", "region_city": "滨州市"}, headers=HX)
    assert _options(response.text, "region_county") == list(KNOWN["山东省"]["滨州市"])
    assert _selected(response.text, "region_city") == "滨州市"
    response = client.get("/regions/picker", query_string={
        "region_province": "山东省", "region_city": "滨州市", "region_county": "邹平市"})
    assert _selected(response.text, "region_county") == "邹平市"  # a county change re-asks
    # A city left over from another province: the counties start again.
    response = client.get("/regions/picker", query_string={
        "region_province": "广西壮族自治区", "region_city": "滨州市"}, headers=HX)
    assert _options(response.text, "region_city") == ["北海市"]
    assert _options(response.text, "region_county") == []


def test_partial_refuses_an_unknown_province(app):
    client = app.test_client()
    response = client.get("/regions/picker", query_string={"region_province": "火星省"},
                          headers=HX)
    assert response.status_code == 422 and "未知地区" in response.text
    assert _options(response.text, "region_city") == []
    client.get("/lang/en")
    response = client.get("/regions/picker", query_string={"region_province": "火星省"})
    assert response.status_code == 422 and "nknown region" in response.text


@pytest.fixture
def staff(clean_url):
    firm_id = committed(clean_url, lambda s: donors.create_enterprise(s, "企业乙", "山东省").id)
    user = make_user(clean_url, "s@firm.cn", ("enterprise_staff", {"enterprise_id": firm_id}))
    client = make_app(clean_url).test_client()
    sign_in(client, user)
    return clean_url, firm_id, client


def _pledges(url):
    with unit_of_work(get_engine(url)) as s:
        return s.exec(select(Pledge)).all()


def test_the_pledge_form_picks_regions_without_javascript(staff):
    url, firm_id, client = staff
    path = f"/enterprise/{firm_id}/pledges/new"
    page = client.get(path)
    assert page.status_code == 200
    assert _options(page.text, "region_province") == list(KNOWN)
    assert 'hx-get="/regions/picker"' in page.text and 'name="region_next"' in page.text
    # Choose a province and ask for the next level: the same form, its cities filled in.
    page = client.post(path, data=PLEDGE | {"region_province": "山东省", "region_next": "1"})
    assert page.status_code == 200 and _options(page.text, "region_city") == list(KNOWN["山东省"])
    assert 'value="滨州助学"' in page.text  # what was typed is kept
    page = client.post(path, data=PLEDGE | {"region_province": "山东省",
                                            "region_city": "滨州市", "region_next": "1"})
    assert "邹平市" in _options(page.text, "region_county")
    # Keep 滨州市/邹平市 and pick another: it becomes a checked box, the picker starts over.
    page = client.post(path, data=PLEDGE | {"region_province": "山东省", "region_city": "滨州市",
                                            "region_county": "邹平市", "region_add": "1"})
    assert page.status_code == 200
    assert re.search(r'checked[^>]*value="山东省/滨州市/邹平市"|value="山东省/滨州市/邹平市"[^>]*checked',
                     page.text)
    assert _selected(page.text, "region_province") is None
    assert _pledges(url) == []  # none of the picker's steps writes anything
    # Submit with the kept region and 潍坊市 still in the picker: both are the pledge's.
    response = client.post(path, data=PLEDGE | {"regions": ["山东省/滨州市/邹平市"],
                                                "region_province": "山东省",
                                                "region_city": "潍坊市"})
    assert response.status_code == 303
    [pledge] = _pledges(url)
    assert pledge.regions == ["山东省/滨州市/邹平市", "山东省/潍坊市"]


def test_the_pledge_form_refuses_an_unknown_province_and_writes_nothing(staff):
    url, firm_id, client = staff
    response = client.post(f"/enterprise/{firm_id}/pledges/new",
                           data=PLEDGE | {"region_province": "火星省"})
    assert response.status_code == 422 and "未知地区" in response.text
    response = client.post(f"/enterprise/{firm_id}/pledges/new",
                           data=PLEDGE | {"regions": ["山东省/火星市"]})
    assert response.status_code == 422 and "未知地区" in response.text
    assert _pledges(url) == []


def test_no_region_means_anywhere(staff):
    url, firm_id, client = staff
    assert client.post(f"/enterprise/{firm_id}/pledges/new", data=PLEDGE).status_code == 303
    assert _pledges(url)[0].regions == []
