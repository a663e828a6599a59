"""The matching pages through the app: an enterprise makes a pledge (bad input: 422 and
nothing written), an admin confirms its tranche and starts a run, the reviewer accepts the
proposal, and the need's page names the enterprise; a fund manager's queue and four-eyes."""
from sqlmodel import select

from core.db import get_engine, unit_of_work
from donors import services as donors
from donors.models import Enterprise, Pledge, PledgeTranche
from funds.models import Allocation, MatchRun
from needs.models import Need
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from tests.integration.helpers import BZ, committed, fund_manager, fund_with, org, verified_need

FORM = {"title": "齐明助学", "budget": "300", "categories": ["助学"],
        "regions": ["山东省/滨州市/邹平市"], "need_kinds": ["wish"], "per_grant_cap": "200"}


def _setup(url):
    def build(s):
        firm = donors.create_enterprise(s, "滨州爱心企业", "山东省/滨州市")
        need = verified_need(s, org(s), kind="wish", amount=15_000, urgency=5,
                             title="一个新书包")
        return firm.id, need.code
    firm_id, need_code = committed(url, build)
    staff = make_user(url, "staff@x.org", ("enterprise_reviewer", {"enterprise_id": firm_id}))
    admin = make_user(url, "admin@x.org", ("admin", {}))
    return firm_id, need_code, staff, admin


def test_pledge_run_accept_and_the_need_page_names_the_enterprise(clean_url):
    firm_id, need_code, staff, admin = _setup(clean_url)
    client = make_app(clean_url).test_client()
    sign_in(client, staff)
    page = client.get(f"/enterprise/{firm_id}/pledges/new")
    assert page.status_code == 200 and "山东省" in page.text  # the picker (test_region_picker)
    for bad, expect in (({"budget": "abc"}, None), ({"per_grant_cap": "500"}, "不能超过"),
                        ({"regions": ["山东省/火星市"]}, "未知地区"),
                        ({"tranches": "2027-01-01 100"}, "合计")):
        response = client.post(f"/enterprise/{firm_id}/pledges/new", data=FORM | bad)
        assert response.status_code == 422, bad
        if expect:
            assert expect in response.text
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.exec(select(Pledge)).all() == []
    response = client.post(f"/enterprise/{firm_id}/pledges/new", data=FORM)
    assert response.status_code == 303
    dashboard = client.get(f"/enterprise/{firm_id}/")
    assert "¥300.00" in dashboard.text and "待到账" in dashboard.text

    admin_client = make_app(clean_url).test_client()
    sign_in(admin_client, admin)
    with unit_of_work(get_engine(clean_url)) as s:
        tranche_id = s.exec(select(PledgeTranche.id)).one()
    assert admin_client.post(f"/matching/tranches/{tranche_id}/confirm").status_code == 303
    assert admin_client.post(f"/matching/tranches/{tranche_id}/confirm").status_code == 400
    response = admin_client.post("/matching/runs")
    assert response.status_code == 303
    run_page = admin_client.get(response.headers["Location"])
    assert run_page.status_code == 200 and "¥150.00" in run_page.text
    assert "已提出匹配提议" in run_page.text  # the run's state in words
    assert "齐明助学 · ¥150.00" in run_page.text  # stranded money names its source
    with unit_of_work(get_engine(clean_url)) as s:
        run = s.exec(select(MatchRun)).one()
        assert run.status == "proposed"
        proposal = s.exec(select(Allocation).where(Allocation.match_run_id == run.id)).one()
    assert client.get(f"/matching/runs/{run.id}/progress").status_code == 200
    listing = client.get(f"/enterprise/{firm_id}/proposals")
    assert need_code in listing.text and "地区" in listing.text
    assert "资助尚缺的全部 ¥150.00" in listing.text  # the why in plain words, engine's below
    assert client.post(f"/enterprise/{firm_id}/proposals/{proposal.id}/decline",
                       data={"reason": ""}).status_code == 400
    assert client.post(f"/enterprise/{firm_id}/proposals/{proposal.id}/accept",
                       data={"reason": "好"}).status_code == 303
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.exec(select(Need).where(Need.code == need_code)).one().state == "funded"
    assert "滨州爱心企业" in client.get(f"/needs/{need_code}").text
    pdf = client.get(f"/enterprise/{firm_id}/report.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def test_another_enterprise_cannot_see_or_review(clean_url):
    firm_id, _code, _staff, _admin = _setup(clean_url)
    other = committed(clean_url, lambda s: donors.create_enterprise(s, "别家", BZ).id)
    outsider = make_user(clean_url, "o@x.org", ("enterprise_reviewer", {"enterprise_id": other}))
    client = make_app(clean_url).test_client()
    sign_in(client, outsider)
    assert client.get(f"/enterprise/{firm_id}/").status_code == 403
    assert client.get(f"/enterprise/{firm_id}/proposals").status_code == 403
    assert client.post("/matching/runs").status_code == 403
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(Enterprise, firm_id) is not None and s.exec(select(MatchRun)).all() == []


def test_fund_queue_four_eyes_through_the_pages(clean_url):
    def build(s):
        fund = fund_with(s, 900_000)
        fund.second_approval_over = 100_000
        verified_need(s, org(s), kind="microgrant", amount=300_000, urgency=5, title="急难")
        a, b = fund_manager(s, fund, "a@x.org"), fund_manager(s, fund, "b@x.org")
        return fund.id, a.id, b.id
    fund_id, alice, bob = committed(clean_url, build)
    with unit_of_work(get_engine(clean_url)) as s:
        from donors import matching_runs
        matching_runs.carry_out(s, matching_runs.start_run(s))
        grant_id = s.exec(select(Allocation.id).where(Allocation.status == "proposed")).one()
    first, second = make_app(clean_url).test_client(), make_app(clean_url).test_client()
    sign_in(first, alice)
    sign_in(second, bob)
    queue = first.get(f"/funds/{fund_id}/queue")
    assert queue.status_code == 200 and "0 / 2" in queue.text and "¥9,000.00" in queue.text
    assert first.post(f"/funds/{fund_id}/grants/{grant_id}/approve",
                      data={"reason": ""}).status_code == 400
    assert first.post(f"/funds/{fund_id}/grants/{grant_id}/approve",
                      data={"reason": "核实属实"}).status_code == 303
    assert first.post(f"/funds/{fund_id}/grants/{grant_id}/approve",
                      data={"reason": "再批"}).status_code == 400
    assert second.post(f"/funds/{fund_id}/grants/{grant_id}/approve",
                       data={"reason": "同意"}).status_code == 303
    with unit_of_work(get_engine(clean_url)) as s:
        grant = s.get(Allocation, grant_id)
        assert grant.status == "executed"
        from funds.models import CommunityFund
        code = s.get(CommunityFund, fund_id).code
    public = make_app(clean_url).test_client().get(f"/disclosure/funds/{code}")
    assert public.status_code == 200
    assert "核实属实" in public.text and "同意" in public.text and "第 2 位审批人" in public.text
    assert "a@x.org" not in public.text and "基金管理员" not in public.text


def test_fast_path_through_the_queue_pays_now_and_is_reviewed_by_another(clean_url):
    """A small 小急难 request in the queue: one manager pays it at once (the fast path), it
    waits for another manager's review, flagged once overdue; above the fund's fast-path
    limit the page offers no fast path and the service refuses it."""
    from datetime import timedelta

    from core import clock
    from funds.models import CommunityFund
    from needs import transfers

    def build(s):
        fund = fund_with(s, 900_000)
        organisation = org(s)
        small = verified_need(s, organisation, kind="microgrant", amount=40_000, urgency=5,
                              title="住院押金")
        large = verified_need(s, organisation, kind="microgrant", amount=60_000, urgency=5,
                              title="房屋修缮")
        a, b = fund_manager(s, fund, "a@x.org"), fund_manager(s, fund, "b@x.org")
        ids = [transfers.propose_grant(s, fund, need, need.amount, reason="申请").id
               for need in (small, large)]
        return fund.id, a.id, b.id, ids
    fund_id, alice, bob, (small_id, large_id) = committed(clean_url, build)
    first, second = make_app(clean_url).test_client(), make_app(clean_url).test_client()
    sign_in(first, alice)
    sign_in(second, bob)
    queue = first.get(f"/funds/{fund_id}/queue").text
    assert f"/grants/{small_id}/fast" in queue and f"/grants/{large_id}/fast" not in queue
    assert first.post(f"/funds/{fund_id}/grants/{small_id}/fast",
                      data={"reason": ""}).status_code == 400
    assert first.post(f"/funds/{fund_id}/grants/{large_id}/fast",
                      data={"reason": "急"}).status_code == 400
    assert first.post(f"/funds/{fund_id}/grants/{small_id}/fast",
                      data={"reason": "明早手术"}).status_code == 303
    with unit_of_work(get_engine(clean_url)) as s:
        small, large = s.get(Allocation, small_id), s.get(Allocation, large_id)
        assert small.status == "executed" and small.review_due and small.reviewed_at is None
        assert large.status == "proposed"
        assert s.get(CommunityFund, fund_id).balance == 900_000 - 40_000
        due = clock.aware(small.review_due)
    queue = second.get(f"/funds/{fund_id}/queue").text
    assert "住院押金" in queue.split("快速通道：待复核")[1] and "已逾期" not in queue
    with clock.frozen(due + timedelta(seconds=1)):
        assert "已逾期" in second.get(f"/funds/{fund_id}/queue").text
        assert first.post(f"/funds/{fund_id}/grants/{small_id}/review",
                          data={"reason": "自己复核"}).status_code == 400
        assert second.post(f"/funds/{fund_id}/grants/{small_id}/review",
                           data={"reason": "材料齐全"}).status_code == 303
        assert "已逾期" not in second.get(f"/funds/{fund_id}/queue").text


def test_a_tranche_is_paid_by_bank_transfer_with_a_reference_code(clean_url):
    """The enterprise asks to pay a tranche and gets a reference code and the platform's
    account (the giving gateway's bank transfer); staff see the code beside the tranche and
    confirm it; only then is the money paid in. Another enterprise cannot ask; a paid
    tranche is refused."""
    import re

    from donors.bank_transfer import normalise_reference
    from donors.giving_models import GiftPayment

    firm_id, _code, staff, admin = _setup(clean_url)
    client = make_app(clean_url).test_client()
    sign_in(client, staff)
    assert client.post(f"/enterprise/{firm_id}/pledges/new", data=FORM | {
        "tranches": "2026-01-01 100\n2027-01-01 200"}).status_code == 303
    with unit_of_work(get_engine(clean_url)) as s:
        first, second = [t.id for t in s.exec(select(PledgeTranche)
                                              .order_by(PledgeTranche.seq)).all()]
    dashboard = client.get(f"/enterprise/{firm_id}/").text
    assert dashboard.count("银行转账付款") == 2 and "SL-" not in dashboard
    answer = client.post(f"/enterprise/{firm_id}/tranches/{first}/pay")
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"#tranche-{first}")
    dashboard = client.get(f"/enterprise/{firm_id}/").text
    code = re.search(r'<code class="reference">(SL-[0-9A-Z-]+)</code>', dashboard).group(1)
    assert normalise_reference(code) == code and "开户行" in dashboard
    assert client.post(f"/enterprise/{firm_id}/tranches/{first}/pay").status_code == 303
    assert code in client.get(f"/enterprise/{firm_id}/").text  # asked again: the same code
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(PledgeTranche, first).reference == code
        assert s.get(PledgeTranche, second).reference is None
        assert s.exec(select(GiftPayment)).all() == []  # a tranche is not a gift
        assert s.exec(select(Pledge)).one().paid_in == 0  # asking to pay pays nothing

    stranger_firm = committed(clean_url, lambda s: donors.create_enterprise(
        s, "别的企业", "山东省/滨州市").id)
    stranger = make_app(clean_url).test_client()
    sign_in(stranger, make_user(clean_url, "other@x.org",
                                ("enterprise_staff", {"enterprise_id": stranger_firm})))
    assert stranger.post(f"/enterprise/{firm_id}/tranches/{second}/pay").status_code == 403
    assert stranger.post(f"/enterprise/{stranger_firm}/tranches/{second}/pay").status_code == 404

    admin_client = make_app(clean_url).test_client()
    sign_in(admin_client, admin)
    assert "2 期待确认" in admin_client.get("/staff/payments/").text
    assert code in admin_client.get("/matching/tranches").text
    assert admin_client.post(f"/matching/tranches/{first}/confirm").status_code == 303
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.exec(select(Pledge)).one().paid_in == 10_000
    assert client.post(f"/enterprise/{firm_id}/tranches/{first}/pay").status_code == 400
    assert "✓" in client.get(f"/enterprise/{firm_id}/").text


def test_paying_a_tranche_without_a_receiving_account_is_a_503_that_says_why(clean_url,
                                                                          monkeypatch):
    for name in ("BANK_ACCOUNT_NAME", "BANK_NAME", "BANK_ACCOUNT_NUMBER"):
        monkeypatch.delenv(name, raising=False)
    firm_id, _code, staff, _admin = _setup(clean_url)
    app = make_app(clean_url)
    client = app.test_client()
    sign_in(client, staff)
    assert client.post(f"/enterprise/{firm_id}/pledges/new", data=FORM).status_code == 303
    tranche_id = committed(clean_url, lambda s: s.exec(select(PledgeTranche.id)).one())
    app.config.update(TESTING=False)  # production: no development account to fall back on
    answer = client.post(f"/enterprise/{firm_id}/tranches/{tranche_id}/pay")
    assert answer.status_code == 503 and "平台尚未配置收款账户" in answer.text
    assert committed(clean_url, lambda s: s.get(PledgeTranche, tranche_id).reference) is None


def test_a_queued_runs_page_polls_until_the_run_is_done(clean_url):
    """While the job runs, the run page's progress partial asks again every 2 s (htmx);
    once the run is done the partial carries the summary and stops polling."""
    from donors import matching_runs

    _firm_id, _code, _staff, admin = _setup(clean_url)
    run_id = committed(clean_url, lambda s: matching_runs.start_run(s).id)  # queued, no worker
    client = make_app(clean_url).test_client()
    sign_in(client, admin)
    page = client.get(f"/matching/runs/{run_id}").text
    assert f'hx-get="/matching/runs/{run_id}/progress"' in page and 'hx-trigger="every 2s"' in page
    assert "排队中" in page and "正在匹配" in page
    committed(clean_url, lambda s: matching_runs.carry_out(s, s.get(MatchRun, run_id)))
    partial = client.get(f"/matching/runs/{run_id}/progress", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and "hx-trigger" not in partial.text
    assert "目标值 ÷ 上界" in partial.text and "<html" not in partial.text
