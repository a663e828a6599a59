"""Fund grants on their transfer record: proposed, approved by one manager (two above the
fund's threshold), executed; or declined with a reason. Nothing moves before approval."""
import pytest
from sqlmodel import select

from core.db import get_engine, unit_of_work
from core.errors import UserError
from core.users import Membership, User
from funds.models import Approval, CommunityFund, LedgerTxn
from funds.services import create_fund
from needs import transfers
from needs.models import Need
from tests.integration.helpers import BZ, committed, fund_with, org, verified_need


def _setup(url, second_over=None):
    def build(s):
        fund = fund_with(s, 100_000)
        fund.second_approval_over = second_over
        fund.need_kinds = ["project", "microgrant"]
        need = verified_need(s, org(s), kind="project", amount=80_000)
        users = [User(email=f"m{i}@example.org", name=f"经理{i}") for i in range(2)]
        s.add_all(users)
        s.flush()
        s.add_all(Membership(user_id=u.id, role="fund_manager", fund_id=fund.id) for u in users)
        s.flush()
        return fund.id, need.id, [u.id for u in users]
    return committed(url, build)


def _txn_count(s):
    return len(s.exec(select(LedgerTxn)).all())


def test_one_approval_executes_a_small_grant(clean_url):
    fund_id, need_id, (alice, _bob) = _setup(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        before = _txn_count(s)
        grant = transfers.propose_grant(s, s.get(CommunityFund, fund_id), s.get(Need, need_id),
                                        20_000, reason="小急难")
        assert grant.status == "proposed" and _txn_count(s) == before
        transfers.approve(s, grant, alice)
        assert grant.status == "executed" and transfers.executed_txn(s, grant).kind == "grant"
        assert s.get(Need, need_id).funded == 20_000
        assert s.get(CommunityFund, fund_id).balance == 80_000


def test_a_large_grant_needs_two_different_managers(clean_url):
    fund_id, need_id, (alice, bob) = _setup(clean_url, second_over=10_000)
    with unit_of_work(get_engine(clean_url)) as s:
        grant = transfers.propose_grant(s, s.get(CommunityFund, fund_id), s.get(Need, need_id),
                                        20_000)
        transfers.approve(s, grant, alice)
        assert grant.status == "proposed" and s.get(Need, need_id).funded == 0
        with pytest.raises(UserError, match="已审批"):
            transfers.approve(s, grant, alice)
        transfers.approve(s, grant, bob)
        assert grant.status == "executed" and s.get(Need, need_id).funded == 20_000
        assert len(s.exec(select(Approval).where(Approval.allocation_id == grant.id)).all()) == 2


def test_a_declined_grant_moves_nothing_and_cannot_be_approved(clean_url):
    fund_id, need_id, (alice, bob) = _setup(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        grant = transfers.propose_grant(s, s.get(CommunityFund, fund_id), s.get(Need, need_id),
                                        20_000)
        with pytest.raises(UserError, match="理由"):
            transfers.decline(s, grant, alice, "  ")
        transfers.decline(s, grant, alice, "不符合小急难条件")
        assert grant.status == "declined" and grant.ledger_seq is None
        with pytest.raises(UserError, match="已有结果"):
            transfers.approve(s, grant, bob)
        assert s.get(Need, need_id).funded == 0 and s.get(CommunityFund, fund_id).balance == 100_000


def test_a_proposal_above_the_cap_or_the_open_amount_is_refused(clean_url):
    fund_id, need_id, _ = _setup(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        capped = create_fund(s, "小基金", BZ, per_grant_cap=5_000, need_kinds=["project"])
        with pytest.raises(UserError, match="上限"):
            transfers.propose_grant(s, capped, s.get(Need, need_id), 6_000)
        with pytest.raises(UserError, match="尚需"):
            transfers.propose_grant(s, s.get(CommunityFund, fund_id), s.get(Need, need_id),
                                    90_000)
