"""Money services: bad input is refused with a clear message and changes nothing; mirrors
always equal the ledger; the database itself refuses over-funding."""
import pytest
from sqlalchemy import func, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core.db import get_engine, unit_of_work
from core.errors import UserError
from donors import services as donors
from donors.models import Donation, Enterprise, Pledge
from funds import ledger
from funds.models import CommunityFund, LedgerTxn
from needs import funding
from needs import services as needs
from needs.models import Need
from tests.integration.helpers import BZ, committed, fund_manager, fund_with, org, verified_need


def _txn_count(url):
    with unit_of_work(get_engine(url)) as s:
        return s.exec(select(func.count()).select_from(LedgerTxn)).one()


def _refused(url, action, expect="金额"):
    before = _txn_count(url)
    with pytest.raises(UserError) as caught, unit_of_work(get_engine(url)) as s:
        action(s)
    assert expect in caught.value.message(), caught.value.message()
    assert _txn_count(url) == before
    return caught.value


def test_need_validation(clean_url):
    organisation_id = committed(clean_url, lambda s: org(s).id)

    def make(**kw):
        def action(s):
            from needs.models import Organisation
            base = dict(kind="wish", title="书包", amount=100, category="助学", region=BZ)
            base.update(kw)
            needs.create_need(s, s.get(Organisation, organisation_id), **base)
        return action

    _refused(clean_url, make(amount=-100), "金额")
    _refused(clean_url, make(amount=1.5), "金额")
    _refused(clean_url, make(region="山东省/滨州市郊"), "地区")
    _refused(clean_url, make(kind="gift"), "类型")
    _refused(clean_url, make(urgency=9), "紧急")
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.exec(select(func.count()).select_from(Need)).one() == 0


def test_a_wish_is_claimed_whole_by_one_donor(clean_url):
    ids = committed(clean_url, lambda s: (verified_need(s, org(s), amount=15_000).id,
                                          donors.create_donor(s, "张三丰").id,
                                          donors.create_donor(s, "李四").id))
    need_id, first, second = ids

    def give(donor_id, amount):
        return lambda s: donors.donate_to_need(s, s.get(donors.Donor, donor_id),
                                               s.get(Need, need_id), amount)

    _refused(clean_url, give(first, 5_000), "全额")
    _refused(clean_url, give(first, -15_000), "金额")
    committed(clean_url, give(first, 15_000))
    _refused(clean_url, give(second, 15_000), "不能接受")  # double claim: already funded
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(Need, need_id).state == "funded"
        assert len(s.exec(select(Donation)).all()) == 1


def test_unverified_needs_cannot_be_funded(clean_url):
    def build(s):
        need = needs.create_need(s, org(s), kind="project", title="未核实", amount=1000,
                                 category="助老", region=BZ)
        needs.submit(s, need)
        return need.id, donors.create_donor(s, "王五").id

    need_id, donor_id = committed(clean_url, build)
    _refused(clean_url, lambda s: donors.donate_to_need(
        s, s.get(donors.Donor, donor_id), s.get(Need, need_id), 500), "不能接受")


def test_state_machine_refuses_skips_and_double_submits(clean_url):
    need_id = committed(clean_url, lambda s: needs.create_need(
        s, org(s), kind="project", title="x", amount=1000, category="助老", region=BZ).id)
    _refused(clean_url, lambda s: needs.verify(s, s.get(Need, need_id)), "不能从")
    committed(clean_url, lambda s: needs.submit(s, s.get(Need, need_id)))
    _refused(clean_url, lambda s: needs.submit(s, s.get(Need, need_id)), "不能从")
    _refused(clean_url, lambda s: needs.reject(s, s.get(Need, need_id), None, "  "), "理由")


def test_fund_grant_caps_and_balance(clean_url):
    def build(s):
        organisation = org(s)
        fund = fund_with(s, 5_000, cap=3_000)
        a = verified_need(s, organisation, kind="microgrant", amount=4_000, title="a")
        b = verified_need(s, organisation, kind="microgrant", amount=3_000, title="b")
        c = verified_need(s, organisation, kind="microgrant", amount=2_500, title="c")
        return fund.id, a.id, b.id, c.id, fund_manager(s, fund).id

    fund_id, a, b, c, manager = committed(clean_url, build)

    def grant(need_id, amount):
        return lambda s: funding.grant_from_fund(s, s.get(CommunityFund, fund_id),
                                                 s.get(Need, need_id), amount, f"grant:{need_id}",
                                                 actor_id=manager)

    _refused(clean_url, grant(a, 4_000), "上限")
    committed(clean_url, grant(b, 3_000))
    _refused(clean_url, grant(c, 2_500), "余额")
    with unit_of_work(get_engine(clean_url)) as s:
        fund = s.get(CommunityFund, fund_id)
        assert fund.balance == 2_000 == ledger.balance(s, f"fund:{fund.code}")


def test_disbursement_cannot_exceed_what_was_raised(clean_url):
    def build(s):
        need = verified_need(s, org(s), kind="project", amount=10_000, title="食堂")
        donors.donate_to_need(s, donors.create_donor(s, "赵六"), need, 6_000)
        return need.id

    need_id = committed(clean_url, build)
    _refused(clean_url, lambda s: funding.disburse(s, s.get(Need, need_id), 7_000, "食堂"), "超过")
    _refused(clean_url, lambda s: funding.disburse(s, s.get(Need, need_id), 100, " "), "收款方")
    committed(clean_url, lambda s: funding.disburse(s, s.get(Need, need_id), 6_000, "食堂"))
    with unit_of_work(get_engine(clean_url)) as s:
        need = s.get(Need, need_id)
        assert (need.funded, need.disbursed) == (6_000, 6_000)
        assert ledger.balance(s, f"need:{need.code}") == 0
        assert ledger.balance(s, f"disbursed:{need.code}") == 6_000


def test_pledge_cannot_allocate_more_than_paid_in(clean_url):
    def build(s):
        firm = donors.create_enterprise(s, "爱心企业", "山东省/滨州市")
        pledge = donors.create_pledge(s, firm, 50_000, categories=["助学"])
        donors.pay_pledge(s, pledge, 20_000, "pay:1")
        need = verified_need(s, org(s), kind="project", amount=40_000, title="助学")
        return pledge.id, need.id

    pledge_id, need_id = committed(clean_url, build)
    _refused(clean_url, lambda s: donors.allocate_from_pledge(
        s, s.get(Pledge, pledge_id), s.get(Need, need_id), 25_000), "余额")
    _refused(clean_url, lambda s: donors.pay_pledge(s, s.get(Pledge, pledge_id), 40_000, "pay:2"),
             "超过")
    _refused(clean_url, lambda s: donors.create_pledge(
        s, s.get(Enterprise, 1), 100, categories=["吃喝"]), "类别")
    _refused(clean_url, lambda s: donors.create_pledge(
        s, s.get(Enterprise, 1), 100, regions=["山东省/滨州市郊"]), "地区")


def test_database_refuses_overfunding_even_without_python(clean_url):
    need_id = committed(clean_url, lambda s: verified_need(s, org(s), amount=1_000).id)
    with pytest.raises(IntegrityError), get_engine(clean_url).begin() as conn:
        conn.execute(text("UPDATE need SET funded = amount + 1 WHERE id = :id"), {"id": need_id})
    fund_id = committed(clean_url, lambda s: fund_with(s, 100).id)
    with pytest.raises(IntegrityError), get_engine(clean_url).begin() as conn:
        conn.execute(text("UPDATE communityfund SET balance = -1 WHERE id = :id"), {"id": fund_id})


def test_demo_load_is_idempotent_and_mirrors_equal_the_ledger(demo_url):
    from demo import load

    with unit_of_work(get_engine(demo_url)) as s:
        before = ledger.head(s).seq
        assert load(s) is False
    with unit_of_work(get_engine(demo_url)) as s:
        assert ledger.head(s).seq == before
        assert ledger.verify(s).ok
        funds_ = s.exec(select(CommunityFund)).all()
        assert len(funds_) >= 147
        balances = ledger.balances(s, "fund:")
        for fund in funds_:
            assert balances.get(f"fund:{fund.code}", 0) == fund.balance
        need_balances = ledger.balances(s, "need:")
        for need in s.exec(select(Need)).all():
            assert need_balances.get(f"need:{need.code}", 0) == need.funded - need.disbursed
            assert ledger.balances(s, f"disbursed:{need.code}").get(
                f"disbursed:{need.code}", 0) == need.disbursed
        for pledge in s.exec(select(Pledge)).all():
            assert ledger.balance(s, f"pledge:{pledge.code}") == pledge.paid_in - pledge.allocated
        sponsorships = s.exec(select(Need).where(Need.kind == "sponsorship")).all()
        assert sponsorships and all(n.amount == 1_000_000 for n in sponsorships)
        assert all(n.funded in (0, n.amount) for n in s.exec(select(Need).where(Need.whole)).all())


def test_a_second_claim_of_a_funded_wish_writes_no_donation_even_if_the_caller_goes_on(clean_url):
    # Guard first, write second: a caller that catches the refusal and commits anyway
    # must not leave a "paid" donation without a ledger transaction behind.
    with unit_of_work(get_engine(clean_url)) as s:
        need = verified_need(s, org(s), amount=15_000)
        first = donors.create_donor(s, "张三")
        second = donors.create_donor(s, "李四")
        donors.donate_to_need(s, first, need, 15_000)
        with pytest.raises(UserError):
            donors.donate_to_need(s, second, need, 15_000)
    with unit_of_work(get_engine(clean_url)) as s:
        donations = s.exec(select(Donation)).all()
    assert [(d.donor_id, d.ledger_seq is not None) for d in donations] == [(first.id, True)]


def test_credit_need_returns_its_ledger_transaction(clean_url):
    with unit_of_work(get_engine(clean_url)) as s:
        need = verified_need(s, org(s), kind="project", amount=50_000)
        txn = funding.credit_need(s, need, 20_000, "donor:abc", "donation", "donation:x")
        assert txn.seq == ledger.head(s).seq and txn.kind == "donation"


def test_every_transfer_into_a_need_has_one_record(clean_url):
    from funds.models import Transfer

    with unit_of_work(get_engine(clean_url)) as s:
        fund = fund_with(s, 100_000)
        need = verified_need(s, org(s), kind="project", amount=90_000)
        fund.need_kinds = ["project"]  # the fund's rules must allow the need (part 7)
        grant = funding.grant_from_fund(s, fund, need, 20_000,
                                        actor_id=fund_manager(s, fund).id)
        donation = donors.donate_to_need(s, donors.create_donor(s, "张三"), need, 10_000)
        firm = donors.create_enterprise(s, "企业乙", "山东省/滨州市")
        pledge = donors.create_pledge(s, firm, 50_000)
        donors.pay_pledge(s, pledge, 50_000, "pay:1")
        allocation = donors.allocate_from_pledge(s, pledge, need, 30_000)
    with unit_of_work(get_engine(clean_url)) as s:
        rows = s.exec(select(Transfer).order_by(Transfer.id)).all()
        sources = [(t.fund_id is not None, t.donation_id, t.pledge_id is not None, t.amount,
                    t.status) for t in rows]
        assert sources == [(True, None, False, 20_000, "executed"),
                           (False, donation.id, False, 10_000, "executed"),
                           (False, None, True, 30_000, "executed")]
        assert [t.id for t in rows] == [grant.id, rows[1].id, allocation.id]
        kinds = [s.get(LedgerTxn, t.ledger_seq).kind for t in rows]
        assert kinds == ["grant", "donation", "allocation"]


def test_a_transfer_needs_exactly_one_source_and_executed_needs_a_transaction(clean_url):
    from funds.models import Transfer

    ids = committed(clean_url, lambda s: (verified_need(s, org(s)).id, fund_with(s, 100).id))
    for row in (Transfer(need_id=ids[0], amount=1, status="proposed"),
                Transfer(need_id=ids[0], fund_id=ids[1], amount=1, status="executed")):
        with pytest.raises(IntegrityError), unit_of_work(get_engine(clean_url)) as s:
            s.add(row)
            s.flush()
