"""Part 7 of issue 10: the rules of a pledge or a fund are checked where the money moves,
whatever called the service — and a refusal writes nothing."""
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from core import clock
from core.db import get_engine, unit_of_work
from core.errors import UserError
from core.identifiers import generate_id_number
from core.users import Membership, User
from donors import services as donors
from donors.models import Pledge, PledgeTranche
from funds.models import Allocation, CommunityFund, LedgerTxn
from needs import funding, transfers
from needs import services as needs
from needs.models import Need
from tests.integration.helpers import BZ, committed, fund_manager, fund_with, org, verified_need


def _count(s, model):
    return len(s.exec(select(model)).all())


def _refused(url, action, expect):
    with unit_of_work(get_engine(url)) as s:
        before = (_count(s, LedgerTxn), _count(s, Allocation))
    with pytest.raises(UserError) as caught, unit_of_work(get_engine(url)) as s:
        action(s)
    assert expect in caught.value.message(), caught.value.message()
    with unit_of_work(get_engine(url)) as s:
        assert (_count(s, LedgerTxn), _count(s, Allocation)) == before
    return caught.value


def _pledge(s, budget=100_000, paid=100_000, **rules):
    firm = donors.create_enterprise(s, f"企业{random.random()}", "山东省/滨州市")
    pledge = donors.create_pledge(s, firm, budget, title="测试认捐", **rules)
    donors.pay_pledge(s, pledge, paid, f"pay:{pledge.id}")
    return pledge


def test_a_study_only_pledge_is_refused_for_a_poverty_need(clean_url):
    def build(s):
        pledge = _pledge(s, categories=["助学"])
        need = verified_need(s, org(s), kind="project", amount=30_000, category="助困")
        return pledge.id, need.id

    pledge_id, need_id = committed(clean_url, build)
    error = _refused(clean_url, lambda s: donors.allocate_from_pledge(
        s, s.get(Pledge, pledge_id), s.get(Need, need_id), 10_000), "只资助助学类")
    assert "only funds 助学" in error.message("en")


def test_region_kind_and_caps_of_a_pledge_are_enforced(clean_url):
    def build(s):
        organisation = org(s)
        regional = _pledge(s, regions=["山东省/潍坊市"])
        wishes = _pledge(s, need_kinds=["wish"], per_grant_cap=5_000)
        project = verified_need(s, organisation, kind="project", amount=30_000, title="项目")
        return regional.id, wishes.id, project.id

    regional, wishes, project = committed(clean_url, build)
    allocate = lambda pid, amount: lambda s: donors.allocate_from_pledge(  # noqa: E731
        s, s.get(Pledge, pid), s.get(Need, project), amount)
    _refused(clean_url, allocate(regional, 1_000), "地区")
    _refused(clean_url, allocate(wishes, 1_000), "不资助这类需求")


def test_a_per_beneficiary_cap_counts_every_need_of_the_person(clean_url):
    def build(s):
        organisation = org(s)
        child = needs.create_beneficiary(s, organisation, "小安", "6-11", BZ, full_name="王小安")
        pledge = _pledge(s, per_beneficiary_cap=20_000)
        first = verified_need(s, organisation, kind="project", amount=15_000, beneficiary=child)
        second = verified_need(s, organisation, kind="project", amount=15_000, beneficiary=child,
                               title="第二个")
        donors.allocate_from_pledge(s, pledge, first, 15_000)
        return pledge.id, second.id

    pledge_id, second = committed(clean_url, build)
    _refused(clean_url, lambda s: donors.allocate_from_pledge(
        s, s.get(Pledge, pledge_id), s.get(Need, second), 10_000), "每位受助人")
    committed(clean_url, lambda s: donors.allocate_from_pledge(
        s, s.get(Pledge, pledge_id), s.get(Need, second), 5_000))


def test_a_match_ratio_limits_a_pledge_to_what_the_public_gave(clean_url):
    def build(s):
        pledge = _pledge(s, match_ratio_pct=100)
        need = verified_need(s, org(s), kind="project", amount=50_000)
        donors.donate_to_need(s, donors.create_donor(s, "张三"), need, 8_000)
        return pledge.id, need.id

    pledge_id, need_id = committed(clean_url, build)
    allocate = lambda amount: lambda s: donors.allocate_from_pledge(  # noqa: E731
        s, s.get(Pledge, pledge_id), s.get(Need, need_id), amount)
    error = _refused(clean_url, allocate(8_001), "配捐")
    assert "¥80.00" in error.message()
    committed(clean_url, allocate(5_000))
    _refused(clean_url, allocate(3_001), "¥30.00")
    committed(clean_url, allocate(3_000))


def _grant_setup(url, amount=350_000, second_over=100_000, always=False):
    def build(s):
        organisation = org(s)
        fund = fund_with(s, 1_000_000)
        fund.second_approval_over, fund.always_four_eyes = second_over, always
        fund.need_kinds = ["microgrant"]
        need = verified_need(s, organisation, kind="microgrant", amount=amount)
        alice, bob = fund_manager(s, fund, "a@x.org"), fund_manager(s, fund, "b@x.org")
        insider = fund_manager(s, fund, "insider@x.org")
        s.add(Membership(user_id=insider.id, role="org_staff", organisation_id=organisation.id))
        outsider = User(email="o@x.org", name="路人")
        s.add(outsider)
        s.flush()
        return fund.id, need.id, alice.id, bob.id, insider.id, outsider.id
    return committed(url, build)


def test_a_grant_above_the_threshold_needs_a_second_approver_even_directly(clean_url):
    fund_id, need_id, alice, bob, _insider, _outsider = _grant_setup(clean_url)
    _refused(clean_url, lambda s: funding.grant_from_fund(
        s, s.get(CommunityFund, fund_id), s.get(Need, need_id), 350_000, actor_id=alice),
        "两位管理员")
    _refused(clean_url, lambda s: funding.grant_from_fund(
        s, s.get(CommunityFund, fund_id), s.get(Need, need_id), 50_000), "管理员审批")
    with unit_of_work(get_engine(clean_url)) as s:
        grant = transfers.propose_grant(s, s.get(CommunityFund, fund_id), s.get(Need, need_id),
                                        350_000)
        transfers.approve(s, grant, alice, "核实属实")
        # executing it early, bypassing the second approval, is refused too
        grant.status = "approved"
        with pytest.raises(UserError, match="2位管理员"):
            funding.execute_grant(s, grant, s.get(CommunityFund, fund_id), s.get(Need, need_id))
        grant.status = "proposed"
        s.flush()
        transfers.approve(s, grant, bob, "同意")
        assert grant.status == "executed"


@pytest.mark.parametrize(("amount", "needed"), [(100_000, 1), (100_001, 2)])
def test_threshold_edges(clean_url, amount, needed):
    fund_id, need_id, alice, bob, _i, _o = _grant_setup(clean_url, amount=amount)
    with unit_of_work(get_engine(clean_url)) as s:
        grant = transfers.propose_grant(s, s.get(CommunityFund, fund_id), s.get(Need, need_id),
                                        amount)
        transfers.approve(s, grant, alice)
        assert grant.status == ("executed" if needed == 1 else "proposed")


def test_the_default_threshold_is_5000_yuan_and_always_four_eyes_funds_need_two(clean_url):
    fund_id, need_id, alice, _bob, _i, _o = _grant_setup(clean_url, amount=50_000,
                                                         second_over=None, always=True)
    with unit_of_work(get_engine(clean_url)) as s:
        fund = s.get(CommunityFund, fund_id)
        assert transfers.approvals_needed(fund, 50_000) == 2
        fund.always_four_eyes = False
        assert transfers.approvals_needed(fund, 500_000) == 1
        assert transfers.approvals_needed(fund, 500_001) == 2


def test_requester_insider_outsider_and_twice_are_refused(clean_url):
    fund_id, need_id, alice, bob, insider, outsider = _grant_setup(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        grant = transfers.propose_grant(s, s.get(CommunityFund, fund_id), s.get(Need, need_id),
                                        350_000, requested_by=alice)
        grant_id = grant.id
    for who, expect in ((alice, "申请人"), (insider, "申请机构的成员"), (outsider, "只有该基金")):
        _refused(clean_url, lambda s, who=who: transfers.approve(
            s, s.get(Allocation, grant_id), who), expect)
    committed(clean_url, lambda s: transfers.approve(s, s.get(Allocation, grant_id), bob))
    _refused(clean_url, lambda s: transfers.approve(s, s.get(Allocation, grant_id), bob), "已审批")


def test_fast_path_pays_at_once_and_flags_an_overdue_review(clean_url):
    fund_id, need_id, alice, bob, _i, _o = _grant_setup(clean_url, amount=40_000)
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    with clock.frozen(start), unit_of_work(get_engine(clean_url)) as s:
        fund = s.get(CommunityFund, fund_id)
        with pytest.raises(UserError, match="快速通道"):
            transfers.fast_grant(s, fund, s.get(Need, need_id), 50_001, alice, "急")
        grant = transfers.fast_grant(s, fund, s.get(Need, need_id), 40_000, alice, "住院押金")
        assert grant.status == "executed" and s.get(Need, need_id).funded == 40_000
        grant_id = grant.id
    with clock.frozen(start + timedelta(days=7)), unit_of_work(get_engine(clean_url)) as s:
        assert transfers.overdue_reviews(s) == []
    with clock.frozen(start + timedelta(days=7, seconds=1)), unit_of_work(get_engine(clean_url)) as s:
        overdue = transfers.overdue_reviews(s, s.get(CommunityFund, fund_id))
        assert [g.id for g in overdue] == [grant_id] and transfers.is_overdue(overdue[0])
        with pytest.raises(UserError, match="另一位"):
            transfers.review_fast_grant(s, overdue[0], alice, "已核")
        transfers.review_fast_grant(s, overdue[0], bob, "材料齐全")
        assert transfers.overdue_reviews(s) == []


def test_always_four_eyes_funds_have_no_fast_path(clean_url):
    fund_id, need_id, alice, _b, _i, _o = _grant_setup(clean_url, amount=10_000, always=True)
    _refused(clean_url, lambda s: transfers.fast_grant(
        s, s.get(CommunityFund, fund_id), s.get(Need, need_id), 10_000, alice, "急"), "快速通道")


def test_a_second_beneficiary_with_the_same_id_number_is_refused(clean_url):
    number = generate_id_number(random.Random(7), date(2014, 3, 15))

    def first(s):
        return needs.create_beneficiary(s, org(s), "小安", "6-11", BZ, full_name="王小安",
                                        id_number=number).id

    committed(clean_url, first)
    from needs.models import Organisation

    def second(s):
        organisation = s.exec(select(Organisation)).first()
        needs.create_beneficiary(s, organisation, "小宁", "6-11", BZ, full_name="王晓安",
                                 id_number=" " + number.lower() + " ")

    with pytest.raises(UserError, match="已登记"), unit_of_work(get_engine(clean_url)) as s:
        second(s)
    with pytest.raises(UserError), unit_of_work(get_engine(clean_url)) as s:
        needs.create_beneficiary(s, s.exec(select(Organisation)).first(), "小乐", "6-11", BZ,
                                 full_name="李乐", id_number="123")


def test_a_pledge_with_bad_rules_or_tranches_writes_nothing(clean_url):
    firm_id = committed(clean_url, lambda s: donors.create_enterprise(s, "企业甲", BZ).id)
    from donors.models import Enterprise

    def make(**kw):
        return lambda s: donors.create_pledge(s, s.get(Enterprise, firm_id), 300_000, **kw)

    for kw, expect in (
            ({"regions": ["山东省/火星市"]}, "未知地区"),
            ({"categories": ["吃喝"]}, "类别"),
            ({"per_grant_cap": 300_001}, "不能超过认捐预算"),
            ({"per_beneficiary_cap": 400_000}, "不能超过认捐预算"),
            ({"tranches": [(date(2027, 1, 1), 100_000), (date(2028, 1, 1), 100_000)]}, "合计"),
            ({"period_start": date(2027, 1, 1), "period_end": date(2026, 1, 1)}, "早于")):
        with pytest.raises(UserError) as caught, unit_of_work(get_engine(clean_url)) as s:
            make(**kw)(s)
        assert expect in caught.value.message(), (kw, caught.value.message())
    with unit_of_work(get_engine(clean_url)) as s:
        assert _count(s, Pledge) == 0 and _count(s, PledgeTranche) == 0


def test_tranches_are_paid_in_when_an_admin_confirms_them(clean_url):
    def build(s):
        firm = donors.create_enterprise(s, "企业乙", BZ)
        pledge = donors.create_pledge(s, firm, 300_000, period_start=date(2026, 1, 1),
                                      period_end=date(2028, 12, 31), tranches=[
                                          (date(2026, 1, 1), 100_000), (date(2027, 1, 1), 100_000),
                                          (date(2028, 1, 1), 100_000)])
        return pledge.id

    pledge_id = committed(clean_url, build)
    with unit_of_work(get_engine(clean_url)) as s:
        pledge = s.get(Pledge, pledge_id)
        tranche = donors.tranches_of(s, pledge)[0]
        donors.confirm_tranche(s, tranche, None)
        assert s.get(Pledge, pledge_id).paid_in == 100_000 and tranche.ledger_seq
        tranche_id = tranche.id
    _refused(clean_url, lambda s: donors.confirm_tranche(s, s.get(PledgeTranche, tranche_id),
                                                         None), "已确认")
