"""配捐 offer forms: enterprise staff propose an offer on their enterprise's pages (amounts
in yuan, bad input refused with a message and nothing written), an admin approves or
rejects it, and only then does it have a public page and match gifts."""
from datetime import timedelta

from sqlmodel import func, select

from core.clock import now
from core.db import get_engine, unit_of_work
from donors import services as donors
from donors.match_models import MatchOffer
from donors.receipts import beijing
from needs import services as needs
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in


def _firm(url):
    with unit_of_work(get_engine(url)) as s:
        firm = donors.create_enterprise(s, "滨州爱心企业", "山东省/滨州市")
        other = donors.create_enterprise(s, "别家企业", "山东省/滨州市")
        programme = needs.create_programme(s, "yimi", "一米阳光", "山东省/滨州市")
        return firm.id, other.id, programme.id


def _form(**changes):
    today = beijing(now()).date()
    data = {"title": "一米阳光 1:1 配捐", "ratio_pct": "100", "total_cap": "50,000",
            "per_gift_cap": "200", "per_need_cap": "1000.50",
            "starts_on": today.isoformat(), "ends_on": (today + timedelta(days=30)).isoformat(),
            "categories": ["助学"], "regions": ["山东省/滨州市"]}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _offers(url):
    with unit_of_work(get_engine(url)) as s:
        return s.exec(select(MatchOffer).order_by(MatchOffer.id)).all()


def _staff(app, url, firm_id, email="e@example.cn"):
    client = app.test_client()
    sign_in(client, make_user(url, email, ("enterprise_staff", {"enterprise_id": firm_id})))
    return client


def _admin(app, url):
    client = app.test_client()
    sign_in(client, make_user(url, "admin@example.cn", ("admin", {})))
    return client


def test_staff_propose_an_offer_and_an_admin_approves_it(clean_url):
    firm_id, _, programme_id = _firm(clean_url)
    app = make_app(clean_url)
    staff = _staff(app, clean_url, firm_id)
    assert staff.get(f"/enterprise/{firm_id}/match-offers/new").status_code == 200
    response = staff.post(f"/enterprise/{firm_id}/match-offers/new",
                          data=_form(programme_ids=[str(programme_id)]))
    assert response.status_code == 303
    [offer] = _offers(clean_url)
    assert (offer.status, offer.ratio_pct, offer.total_cap, offer.per_gift_cap,
            offer.per_need_cap) == ("pending", 100, 5_000_000, 20_000, 100_050)
    assert offer.programme_ids == [programme_id] and offer.categories == ["助学"]
    assert beijing(offer.ends_at).date() - beijing(offer.starts_at).date() == timedelta(days=31)
    assert app.test_client().get(f"/match-offers/{offer.code}").status_code == 404
    listing = staff.get(f"/enterprise/{firm_id}/match-offers").get_data(as_text=True)
    assert offer.code in listing and "待审批" in listing and "一米阳光" in listing

    admin = _admin(app, clean_url)
    queue = admin.get("/admin/match-offers/").get_data(as_text=True)
    assert offer.code in queue and "滨州爱心企业" in queue
    assert admin.post(f"/admin/match-offers/{offer.id}/approve").status_code == 303
    again = admin.post(f"/admin/match-offers/{offer.id}/approve")  # a double submit
    assert again.status_code == 400 and "不在待审批状态" in again.get_data(as_text=True)
    [offer] = _offers(clean_url)
    assert offer.status == "approved"
    public = app.test_client().get(f"/match-offers/{offer.code}").get_data(as_text=True)
    assert "配捐剩余" in public and "¥50,000.00" in public


def test_an_admin_rejects_an_offer_with_a_reason(clean_url):
    firm_id, _, _ = _firm(clean_url)
    app = make_app(clean_url)
    _staff(app, clean_url, firm_id).post(f"/enterprise/{firm_id}/match-offers/new",
                                          data=_form())
    [offer] = _offers(clean_url)
    admin = _admin(app, clean_url)
    assert admin.post(f"/admin/match-offers/{offer.id}/reject",
                      data={"reason": "比例过高"}).status_code == 303
    [offer] = _offers(clean_url)
    assert offer.status == "rejected"
    assert admin.post(f"/admin/match-offers/{offer.id}/approve").status_code == 400
    assert app.test_client().get(f"/match-offers/{offer.code}").status_code == 404


def test_bad_offer_input_is_refused_and_writes_nothing(clean_url):
    firm_id, _, _ = _firm(clean_url)
    app = make_app(clean_url)
    staff = _staff(app, clean_url, firm_id)
    today = beijing(now()).date()
    cases = [
        ({"total_cap": "abc"}, "金额"),
        ({"total_cap": "0"}, "配捐总额必须是正数"),
        ({"total_cap": "12.345"}, "两位小数"),
        ({"per_gift_cap": "-5"}, None),
        ({"ratio_pct": "0"}, "配捐比例须为 1 到 1000"),
        ({"ratio_pct": "1.5"}, None),
        ({"ratio_pct": "abc"}, None),
        ({"title": ""}, "请填写配捐名称"),
        ({"ends_on": (today - timedelta(days=3)).isoformat()}, "配捐结束时间须晚于开始时间"),
        ({"starts_on": "not a date"}, None),
        ({"categories": ["火星"]}, "未知类别"),
        ({"regions": ["火星省"]}, None),
        ({"programme_ids": ["9999"]}, "未知项目"),
    ]
    for change, message in cases:
        response = staff.post(f"/enterprise/{firm_id}/match-offers/new", data=_form(**change))
        assert response.status_code == 422, change
        if message:
            assert message in response.get_data(as_text=True), change
    assert _offers(clean_url) == []


def test_offers_are_for_the_enterprise_own_people_and_approval_for_admins(clean_url):
    firm_id, other_id, _ = _firm(clean_url)
    app = make_app(clean_url)
    staff = _staff(app, clean_url, firm_id)
    assert staff.post(f"/enterprise/{other_id}/match-offers/new",
                      data=_form()).status_code == 403
    assert staff.get(f"/enterprise/{other_id}/match-offers").status_code == 403
    staff.post(f"/enterprise/{firm_id}/match-offers/new", data=_form())
    [offer] = _offers(clean_url)
    assert staff.get("/admin/match-offers/").status_code == 403
    assert staff.post(f"/admin/match-offers/{offer.id}/approve").status_code == 403
    donor = app.test_client()
    sign_in(donor, make_user(clean_url, "d@example.cn", ("donor", {})))
    assert donor.post(f"/enterprise/{firm_id}/match-offers/new", data=_form()).status_code == 403
    anonymous = app.test_client().post(f"/admin/match-offers/{offer.id}/approve")
    assert anonymous.status_code == 302
    assert _offers(clean_url)[0].status == "pending"
    assert _admin(app, clean_url).post("/admin/match-offers/999/approve").status_code == 404


def test_a_pending_enterprise_cannot_propose_offers(clean_url):
    with unit_of_work(get_engine(clean_url)) as s:
        firm_id = donors.create_enterprise(s, "待审企业", "山东省/滨州市", status="pending").id
    app = make_app(clean_url)
    response = _staff(app, clean_url, firm_id).post(f"/enterprise/{firm_id}/match-offers/new",
                                                    data=_form())
    assert response.status_code == 400 and "尚未通过审核" in response.get_data(as_text=True)
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.exec(select(func.count()).select_from(MatchOffer)).one() == 0


def test_offer_pages_read_in_english(clean_url):
    firm_id, _, _ = _firm(clean_url)
    app = make_app(clean_url)
    staff = _staff(app, clean_url, firm_id)
    refused = staff.post(f"/enterprise/{firm_id}/match-offers/new?lang=en",
                         data=_form(total_cap="abc"))
    assert refused.status_code == 422 and "Total match (yuan)" in refused.get_data(as_text=True)
    staff.post(f"/enterprise/{firm_id}/match-offers/new", data=_form())
    pages = [(staff, f"/enterprise/{firm_id}/match-offers", "Awaiting approval"),
             (_admin(app, clean_url), "/admin/match-offers/", "Match offer approvals")]
    for client, url, english in pages:
        html = client.get(url + "?lang=en").get_data(as_text=True)
        main = html[html.index("<main"):html.index("</main>")]
        assert english in main, url
        leaked = set("：（）、。") & set(main)
        assert not leaked, (url, leaked)
