"""The public page of a need: money, masked donors, named enterprises, fund grants,
disbursements with EXIF-free evidence, milestones, the QR code and the printable wish card."""
import io
import re
from datetime import UTC, datetime, time, timedelta
from urllib.parse import quote

import segno
from PIL import ExifTags, Image
from sqlmodel import select

from core import clock
from core.db import get_engine, unit_of_work
from donors.models import Donation, Donor
from funds.models import Allocation
from needs.models import Evidence, Milestone, Need, Programme


def _codes(url):
    with unit_of_work(get_engine(url)) as s:
        huanxin = s.exec(select(Need.code).join(Programme, Programme.id == Need.programme_id)
                         .where(Programme.code == "huanxin").order_by(Need.id)).all()
        evidence = s.exec(select(Need.code, Evidence.id).join(Need, Need.id == Evidence.need_id)
                          .order_by(Evidence.id)).all()
        granted = s.exec(select(Need.code).where(Need.kind == "microgrant", Need.funded > 0)
                         .order_by(Need.id)).first()
        hidden_donor = s.exec(select(Donor.name, Need.code).join(Donation, Donation.donor_id == Donor.id)
                              .join(Need, Need.id == Donation.need_id)
                              .where(Donor.show_name.is_(False))).first()
        pending = s.exec(select(Need.code).where(Need.state == "submitted")).first()
        return dict(huanxin=list(huanxin), evidence=list(evidence), granted=granted,
                    hidden_donor=hidden_donor, pending=pending)


def test_project_page_shows_money_people_and_sources(demo_client, demo_url):
    codes = _codes(demo_url)
    code = codes["huanxin"][0]
    html = demo_client.get(f"/needs/{code}").get_data(as_text=True)
    assert "¥20,000.00" in html and "¥10,000.00" in html  # amount and raised
    assert '<progress class="bar" max="100" value="50"' in html
    assert "聊城水城公益家居有限公司" in html  # the enterprise is named, with its 配捐
    assert re.search(r'href="/disclosure/ledger\?before=\d+#seq-\d+"', html)
    name, donor_code = codes["hidden_donor"]
    page = demo_client.get(f"/needs/{donor_code}").get_data(as_text=True)
    assert name not in page and name[0] + "*" in page  # masked 张*


def test_fund_grant_is_listed_with_its_fund(demo_client, demo_url):
    code = _codes(demo_url)["granted"]
    html = demo_client.get(f"/needs/{code}").get_data(as_text=True)
    assert "社区基金拨款" in html and "社区基金</a>" in html
    assert re.search(r'href="/disclosure/funds/F-\d+"', html)


def test_milestones_done_due_and_overdue_follow_the_clock(demo_client, demo_url):
    code = _codes(demo_url)["huanxin"][0]  # renovation + visits 1–3 done, visits 4–12 open
    with unit_of_work(get_engine(demo_url)) as s:
        need_id = s.exec(select(Need.id).where(Need.code == code)).one()
        visit4 = s.exec(select(Milestone).where(Milestone.need_id == need_id,
                                                Milestone.seq == 5)).one()
    with clock.frozen(datetime(2026, 1, 1, tzinfo=UTC)):
        early = demo_client.get(f"/needs/{code}").get_data(as_text=True)
    after = datetime.combine(visit4.due, time(), UTC) + timedelta(days=2)
    with clock.frozen(after):
        late = demo_client.get(f"/needs/{code}").get_data(as_text=True)
    assert early.count('class="ms-done"') == 4 and late.count('class="ms-done"') == 4
    assert 'class="ms-overdue"' not in early
    assert late.count('class="ms-overdue"') >= 1
    assert late.count('class="ms-overdue"') + late.count('class="ms-due"') == 9


def test_evidence_is_shown_and_served_without_exif(demo_client, demo_url):
    code, evidence_id = _codes(demo_url)["evidence"][0]
    html = demo_client.get(f"/needs/{code}").get_data(as_text=True)
    assert f'src="/disclosure/evidence/{evidence_id}"' in html
    response = demo_client.get(f"/disclosure/evidence/{evidence_id}")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    with Image.open(io.BytesIO(response.data)) as image:
        exif = image.getexif()
        assert len(exif) == 0 and not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert b"DemoCam" not in response.data
    assert demo_client.get("/disclosure/evidence/999999").status_code == 404


def test_qr_code_encodes_the_absolute_page_url(demo_client, demo_url):
    """On the configured SITE_URL, whatever Host header the request came with."""
    code = _codes(demo_url)["huanxin"][1]
    url = f"http://127.0.0.1:5000/needs/{code}"
    for page in (f"/needs/{code}", f"/needs/{code}/card"):
        html = demo_client.get(page, headers={"Host": "evil.example"}).get_data(as_text=True)
        assert "evil.example" not in html, page
        svg = re.search(r"<svg[^>]*class=\"qr\".*?</svg>", html, re.S)
        assert svg, page
        assert f"<title>{url}</title>" in svg.group(0)
        # the dark modules drawn are exactly segno's matrix for that URL
        drawn = re.findall(r' d="([^"]+)"', svg.group(0))
        qr = segno.make(url, error="m", micro=False)
        expected = [re.findall(r' d="([^"]+)"', qr.svg_inline(scale=k, dark="#000", light="#fff"))
                    for k in (4, 5)]
        assert drawn in expected
        other = segno.make(url + "x", error="m", micro=False)
        assert drawn[-1] != re.findall(r' d="([^"]+)"', other.svg_inline(scale=4))[-1]
    assert quote(url, safe=":/") == url


def test_wish_card_is_printable_and_hidden_needs_have_none(demo_client, demo_url):
    codes = _codes(demo_url)
    card = demo_client.get(f"/needs/{codes['huanxin'][0]}/card")
    assert card.status_code == 200
    html = card.get_data(as_text=True)
    assert "wish-card" in html and "<script" not in html
    assert demo_client.get(f"/needs/{codes['pending']}/card").status_code == 404
    assert demo_client.get("/needs/<x>/card").status_code == 404


def test_enterprise_allocation_on_need_page_matches_allocation_rows(demo_client, demo_url):
    with unit_of_work(get_engine(demo_url)) as s:
        allocation, code = s.exec(select(Allocation, Need.code)
                                  .join(Need, Need.id == Allocation.need_id)
                                  .order_by(Allocation.id)).first()
    html = demo_client.get(f"/needs/{code}").get_data(as_text=True)
    assert f"#seq-{allocation.ledger_seq}" in html
