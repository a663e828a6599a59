"""The enterprise's map of where its money went: 省 → 市 → 县 with what was allocated and
disbursed, every known county of a city the money reached (empty ones too), never a town
or a community, and only for the enterprise's own people."""
import re

from core.regions import KNOWN
from donors import services as donors
from needs.funding import disburse
from readside.enterprise_money import enterprise_money
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from tests.integration.helpers import committed, org, verified_need
from web.charts import grid_map

ZOUPING = "山东省/滨州市/邹平市/黄山街道/齐明社区"
HUIMIN = "山东省/滨州市/惠民县/孙武街道"
HEPU = "广西壮族自治区/北海市/合浦县/廉州镇"


def _give(s):
    """An enterprise's ¥1,000 pledge, paid in, allocated in two 滨州 counties and 合浦县;
    part of it paid out."""
    firm = donors.create_enterprise(s, "滨州爱心企业", "山东省/滨州市")
    pledge = donors.create_pledge(s, firm, 100_000, title="助学")
    donors.pay_pledge(s, pledge, 100_000, ref="bank-1")
    organisation = org(s)
    for region, amount, paid_out in ((ZOUPING, 30_000, 12_000), (ZOUPING, 10_000, 0),
                                     (HUIMIN, 20_000, 20_000), (HEPU, 5_000, 0)):
        need = verified_need(s, organisation, kind="project", amount=amount, region=region)
        donors.allocate_from_pledge(s, pledge, need, amount)
        if paid_out:
            disburse(s, need, paid_out, paid_to="测试机构")
    return firm


def _world(url):
    return committed(url, lambda s: (_give(s).id, donors.create_enterprise(s, "别的企业", "山东省").id))


def test_the_report_groups_province_city_county_with_allocated_and_disbursed(db):
    firm = _give(db)
    report = enterprise_money(db, firm)
    provinces = {p.province: p for p in report.regions}
    assert set(provinces) == {"山东省", "广西壮族自治区"}
    shandong = provinces["山东省"]
    assert (shandong.allocated, shandong.disbursed) == (60_000, 32_000)
    [binzhou] = shandong.cities
    assert [c.name for c in binzhou.counties] == list(KNOWN["山东省"]["滨州市"])
    cells = {c.name: (c.allocated, c.disbursed, c.needs) for c in binzhou.counties}
    assert cells["邹平市"] == (40_000, 12_000, 2) and cells["惠民县"] == (20_000, 20_000, 1)
    assert cells["阳信县"] == (0, 0, 0)
    assert provinces["广西壮族自治区"].cities[0].counties[-1].name == "合浦县"


def test_the_dashboard_draws_the_map_and_the_table(clean_url):
    firm_id, other_id = _world(clean_url)
    staff = make_user(clean_url, "s@firm.cn", ("enterprise_staff", {"enterprise_id": firm_id}))
    client = make_app(clean_url).test_client()
    sign_in(client, staff)
    page = client.get(f"/enterprise/{firm_id}/")
    assert page.status_code == 200
    svg = re.search(r'<figure class="money-map">(.*?)</figure>', page.text, re.S).group(1)
    assert svg.startswith("<svg") and "资金去向地图" in svg
    assert "山东省滨州市邹平市：已匹配 ¥400.00，已拨付 ¥120.00，2 个需求" in svg
    assert "阳信县" in svg  # a county the money did not reach is still on the grid
    table = re.search(r'<table class="money-regions">(.*?)</table>', page.text, re.S).group(1)
    assert re.search(r"山东省</th><td>¥600.00</td><td>¥320.00</td>", table)
    assert re.search(r"邹平市</td><td>¥400.00</td><td>¥120.00</td><td>2</td>", table)
    assert "阳信县" not in table  # the table lists only where money went
    for private in ("黄山街道", "齐明社区", "孙武街道", "廉州镇"):
        assert private not in page.text
    client.get("/lang/en")
    english = client.get(f"/enterprise/{firm_id}/").text
    assert "Where the money went, by county" in english and "allocated ¥400.00" in english

    outsider = make_user(clean_url, "o@firm.cn", ("enterprise_staff", {"enterprise_id": other_id}))
    other_client = make_app(clean_url).test_client()
    sign_in(other_client, outsider)
    assert other_client.get(f"/enterprise/{firm_id}/").status_code == 403
    assert make_app(clean_url).test_client().get(f"/enterprise/{firm_id}/").status_code == 302


def test_grid_map_shades_by_value_and_handles_nothing():
    svg = grid_map("图", [("滨州市", [("邹平市", 400, "a"), ("惠民县", 100, "b"),
                                     ("阳信县", 0, "c")])])
    opacities = [float(v) for v in re.findall(r'fill-opacity="([0-9.]+)"', svg)]
    assert opacities[0] == 1.0 and 0 < opacities[1] < opacities[0] and opacities[2] == 0
    assert "<title>a</title>" in svg and "—" in svg
    assert "暂无" in grid_map("图", [], empty="暂无匹配")
