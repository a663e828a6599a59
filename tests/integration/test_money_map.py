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


def _map_page(pdf_bytes: bytes):
    """The PDF's pages as text, and the one that draws the map (by its heading)."""
    import io

    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf_bytes))
    texts = [page.extract_text() for page in reader.pages]
    index = next(i for i, text in enumerate(texts) if "资金去向地图" in text)
    return reader.pages[index], texts[index], texts


def test_the_report_back_pdf_draws_the_same_map(clean_url):
    """The 向您汇报 PDF has the dashboard's map: every county of a city the money reached,
    with its name and what was matched there, in cells shaded against the largest; the
    by-county table comes on a later page."""
    from donors.report_back import MAP_COLOUR

    firm_id, _other = _world(clean_url)
    staff = make_user(clean_url, "s@firm.cn", ("enterprise_staff", {"enterprise_id": firm_id}))
    client = make_app(clean_url).test_client()
    sign_in(client, staff)
    answer = client.get(f"/enterprise/{firm_id}/report.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    page, text, texts = _map_page(answer.data)
    compact = "".join(text.split())
    assert "资金去向（按县）" not in text  # the table is elsewhere: this text is the map's
    for label in ("山东省滨州市", "广西壮族自治区北海市"):  # one row per city
        assert label in compact
    for county, amount in (("邹平市", "¥400.00"), ("惠民县", "¥200.00"), ("合浦县", "¥50.00")):
        assert county in compact and amount in compact
    for county in KNOWN["山东省"]["滨州市"]:  # the empty counties too, as on the dashboard
        assert county[:5] in compact
    assert "—" in text
    for private in ("黄山街道", "齐明社区", "孙武街道", "廉州镇"):
        assert not any(private in t for t in texts)
    # Drawn, not only written: a filled rectangle per county, the largest in full colour
    # and an empty county white.
    stream = page.get_contents().get_data().decode("latin-1")
    cells = len(KNOWN["山东省"]["滨州市"]) + len(KNOWN["广西壮族自治区"]["北海市"])
    assert stream.count(" re") >= cells
    fills = [tuple(float(v) for v in m) for m in
             re.findall(r"([0-9.]+) ([0-9.]+) ([0-9.]+) rg", stream)]
    assert any(all(abs(f - c / 255) < 0.001 for f, c in zip(fill, MAP_COLOUR, strict=True))
               for fill in fills)
    assert (1.0, 1.0, 1.0) in fills
    assert any("资金去向（按县）" in t and "邹平市" in t for t in texts)


def test_a_report_with_nothing_matched_says_so_on_the_map(clean_url):
    firm_id = committed(clean_url, lambda s: donors.create_enterprise(s, "新企业", "山东省").id)
    staff = make_user(clean_url, "s@new.cn", ("enterprise_staff", {"enterprise_id": firm_id}))
    client = make_app(clean_url).test_client()
    sign_in(client, staff)
    _page, text, _texts = _map_page(client.get(f"/enterprise/{firm_id}/report.pdf").data)
    assert "还没有匹配的需求" in text


def test_shades_follow_the_dashboard():
    from donors.report_back import shade

    assert shade(0, 400) == 0 and shade(400, 400) == 1000 and shade(100, 0) == 0
    assert 60 < shade(100, 400) < shade(200, 400) < 1000
