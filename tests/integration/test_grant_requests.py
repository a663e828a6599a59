"""An organisation asks a community fund for a 小急难 grant from its need's page; the request
waits in the fund manager's queue, where neither the requester nor any member of the
requesting organisation may approve it. Bad input, a wrong role or organisation and a
double submit: a clear 4xx and nothing written."""
import pytest
from sqlmodel import select

from core.db import get_engine, unit_of_work
from donors import services as donors
from funds.models import Allocation, CommunityFund
from needs import services as needs
from needs.models import Need
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from tests.integration.helpers import committed, fund_with, org, verified_need


@pytest.fixture
def world(clean_url):
    def build(s):
        fund = fund_with(s, 200_000, cap=50_000)  # ¥2,000 in the fund, ¥500 a grant
        fund.name = "齐明社区基金"
        fund.need_kinds = ["microgrant"]
        own = org(s)
        other = needs.create_organisation(s, "别的机构", "山东省/滨州市/邹平市",
                                          status="approved")
        need = verified_need(s, own, kind="microgrant", amount=80_000, title="急难救助",
                             category="助困")
        wish = verified_need(s, own, kind="wish", amount=10_000, title="一个书包")
        firm = donors.create_enterprise(s, "企业甲", "山东省/滨州市")
        return {"fund": fund.id, "org": own.id, "other_org": other.id, "need": need.code,
                "wish": wish.code, "firm": firm.id}
    ids = committed(clean_url, build)
    users = {
        "staff": make_user(clean_url, "staff@org.cn", ("org_staff", {"organisation_id": ids["org"]})),
        "colleague": make_user(clean_url, "colleague@org.cn",
                               ("org_admin", {"organisation_id": ids["org"]}),
                               ("fund_manager", {"fund_id": ids["fund"]})),
        "manager": make_user(clean_url, "m@fund.cn", ("fund_manager", {"fund_id": ids["fund"]})),
        "outsider": make_user(clean_url, "o@other.cn",
                              ("org_staff", {"organisation_id": ids["other_org"]})),
        "firm": make_user(clean_url, "e@firm.cn", ("enterprise_staff", {"enterprise_id": ids["firm"]})),
    }
    return clean_url, ids, users


def _client(url, user_id):
    client = make_app(url).test_client()
    sign_in(client, user_id)
    return client


def _requests(url):
    with unit_of_work(get_engine(url)) as s:
        return s.exec(select(Allocation).where(Allocation.requested_by.is_not(None))).all()


def _form(ids, **change):
    return {"fund": str(ids["fund"]), "amount": "300", "reason": "家中失火，急需生活用品"} | change


def test_request_shows_in_the_queue_and_a_manager_approves_it(world):
    url, ids, users = world
    staff = _client(url, users["staff"])
    listing = staff.get(f"/org/{ids['org']}/needs")
    assert f"/org/needs/{ids['need']}#grant-request" in listing.text
    assert f"/org/needs/{ids['wish']}#grant-request" not in listing.text
    page = staff.get(f"/org/needs/{ids['need']}")
    assert page.status_code == 200
    assert "向社区基金申请小急难拨款" in page.text and "齐明社区基金" in page.text
    assert "¥500.00" in page.text  # the fund's per-grant cap beside its name
    response = staff.post(f"/org/needs/{ids['need']}/grant-request", data=_form(ids))
    assert response.status_code == 303
    [grant] = _requests(url)
    assert (grant.status, grant.amount, grant.requested_by) == ("proposed", 30_000, users["staff"])
    assert "审批中" in staff.get(f"/org/needs/{ids['need']}").text

    manager = _client(url, users["manager"])
    queue = manager.get(f"/funds/{ids['fund']}/queue")
    assert queue.status_code == 200
    assert ids["need"] in queue.text and "家中失火" in queue.text and "测试机构申请" in queue.text
    assert manager.post(f"/funds/{ids['fund']}/grants/{grant.id}/approve",
                        data={"reason": "核实属实"}).status_code == 303
    with unit_of_work(get_engine(url)) as s:
        assert s.get(Allocation, grant.id).status == "executed"
        assert s.exec(select(Need).where(Need.code == ids["need"])).one().funded == 30_000
        assert s.get(CommunityFund, ids["fund"]).balance == 170_000


@pytest.mark.parametrize("change, message", [
    ({"amount": "abc"}, None),
    ({"amount": "-5"}, None),
    ({"amount": "0"}, "金额必须大于零"),
    ({"amount": "12.345"}, None),
    ({"amount": "600"}, "单笔上限"),       # above the fund's ¥500 cap
    ({"reason": "  "}, "请写明申请理由"),
    ({"fund": "999"}, None),               # not a fund this need may ask
    ({"fund": "x"}, None),
])
def test_bad_input_is_refused_and_writes_nothing(world, change, message):
    url, ids, users = world
    staff = _client(url, users["staff"])
    response = staff.post(f"/org/needs/{ids['need']}/grant-request", data=_form(ids, **change))
    assert response.status_code == 422, change
    if message:
        assert message in response.text
    assert 'class="errors"' in response.text
    assert _requests(url) == []


def test_above_the_fund_balance_or_for_a_wish_is_refused(world):
    url, ids, users = world
    with unit_of_work(get_engine(url)) as s:
        s.get(CommunityFund, ids["fund"]).per_grant_cap = None
    staff = _client(url, users["staff"])
    response = staff.post(f"/org/needs/{ids['need']}/grant-request",
                          data=_form(ids, amount="2500"))
    assert response.status_code == 422 and "基金的余额" in response.text
    page = staff.get(f"/org/needs/{ids['wish']}")
    assert "向社区基金申请小急难拨款" not in page.text
    response = staff.post(f"/org/needs/{ids['wish']}/grant-request", data=_form(ids, amount="100"))
    assert response.status_code == 422
    assert _requests(url) == []


def test_english_page_shows_the_refusal_in_english(world):
    url, ids, users = world
    staff = _client(url, users["staff"])
    staff.get("/lang/en")
    response = staff.post(f"/org/needs/{ids['need']}/grant-request",
                          data=_form(ids, reason=""))
    assert response.status_code == 422
    assert "Ask a community fund" in response.text and "申请" not in response.text


@pytest.mark.parametrize("who", ["outsider", "manager", "firm"])
def test_wrong_role_or_organisation_cannot_request(world, who):
    url, ids, users = world
    client = _client(url, users[who])
    assert client.get(f"/org/needs/{ids['need']}").status_code == 403
    response = client.post(f"/org/needs/{ids['need']}/grant-request", data=_form(ids))
    assert response.status_code == 403
    anonymous = make_app(url).test_client()
    response = anonymous.post(f"/org/needs/{ids['need']}/grant-request", data=_form(ids))
    assert response.status_code == 302 and "/account/sign-in" in response.headers["Location"]
    assert _requests(url) == []


def test_double_submit_files_one_request(world):
    url, ids, users = world
    staff = _client(url, users["staff"])
    assert staff.post(f"/org/needs/{ids['need']}/grant-request",
                      data=_form(ids)).status_code == 303
    again = staff.post(f"/org/needs/{ids['need']}/grant-request", data=_form(ids))
    assert again.status_code == 422 and "正在审批中" in again.text
    assert len(_requests(url)) == 1


def test_requester_and_the_organisations_members_cannot_approve(world):
    url, ids, users = world
    # The colleague manages the fund and is an admin of the requesting organisation.
    colleague = _client(url, users["colleague"])
    assert colleague.post(f"/org/needs/{ids['need']}/grant-request",
                          data=_form(ids)).status_code == 303
    [grant] = _requests(url)
    queue = colleague.get(f"/funds/{ids['fund']}/queue")
    assert queue.status_code == 200 and ids["need"] in queue.text
    refused = colleague.post(f"/funds/{ids['fund']}/grants/{grant.id}/approve",
                             data={"reason": "同意"})
    assert refused.status_code == 400 and "申请人不能审批自己的申请" in refused.text

    with unit_of_work(get_engine(url)) as s:  # a second request, by a plain staff member
        s.get(Allocation, grant.id).status = "declined"
    staff = _client(url, users["staff"])
    assert staff.post(f"/org/needs/{ids['need']}/grant-request",
                      data=_form(ids)).status_code == 303
    grant = next(g for g in _requests(url) if g.status == "proposed")
    refused = colleague.post(f"/funds/{ids['fund']}/grants/{grant.id}/approve",
                             data={"reason": "同意"})
    assert refused.status_code == 400 and "申请机构的成员不能审批" in refused.text
    refused = colleague.post(f"/funds/{ids['fund']}/grants/{grant.id}/reject",
                             data={"reason": "不行"})
    assert refused.status_code == 400
    with unit_of_work(get_engine(url)) as s:
        assert s.get(Allocation, grant.id).status == "proposed"
        assert s.exec(select(Need).where(Need.code == ids["need"])).one().funded == 0
    manager = _client(url, users["manager"])
    assert manager.post(f"/funds/{ids['fund']}/grants/{grant.id}/approve",
                        data={"reason": "核实"}).status_code == 303


def test_the_same_request_sent_four_times_at_once_files_one(world):
    """Four submits racing (a double-click, a retry): the need's row lock lets one in."""
    import threading

    from tests.conftest import require_postgres

    url, ids, users = world
    require_postgres()
    app = make_app(url)  # one app, four signed-in clients, made before the race starts
    clients = [app.test_client() for _ in range(4)]
    for client in clients:
        sign_in(client, users["staff"])
    barrier = threading.Barrier(4, timeout=60)
    statuses = []

    def submit(client):
        barrier.wait()
        try:
            statuses.append(client.post(f"/org/needs/{ids['need']}/grant-request",
                                        data=_form(ids)).status_code)
        except Exception as exc:  # reported by the assertion below, not lost in the thread
            statuses.append(repr(exc))

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads), "a submit is still waiting"
    assert sorted(statuses) == [303, 422, 422, 422]
    assert len(_requests(url)) == 1
