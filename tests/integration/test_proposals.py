"""Proposals of a matching run: reviewed by the source's reviewers, accepted with every
check made again at that moment (one wins a race), declined with a reason, lapsing when
unanswered; a run that fails validation proposes nothing."""
import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from core import clock
from core.db import get_engine, unit_of_work
from core.errors import UserError
from core.users import Membership, User
from donors import matching_runs, proposals
from donors import services as donors
from donors.models import Pledge
from funds.models import Allocation, CommunityFund, LedgerTxn, MatchRun
from needs.models import Need
from tests.conftest import require_postgres
from tests.integration.helpers import BZ, committed, fund_manager, fund_with, org, verified_need


def _reviewer(s, enterprise, email):
    user = User(email=email, name="审核人")
    s.add(user)
    s.flush()
    s.add(Membership(user_id=user.id, role="enterprise_reviewer", enterprise_id=enterprise.id))
    s.flush()
    return user.id


def _two_pledges_one_wish(url):
    """Two enterprises' pledges that could each fund the same whole 微心愿 alone."""
    def build(s):
        organisation = org(s)
        wish = verified_need(s, organisation, kind="wish", amount=15_000, urgency=5)
        ids = []
        for i in range(2):
            firm = donors.create_enterprise(s, f"企业{i}", "山东省/滨州市")
            pledge = donors.create_pledge(s, firm, 50_000, title=f"认捐{i}", regions=[BZ])
            donors.pay_pledge(s, pledge, 50_000, f"pay:{i}")
            ids.append((pledge.id, _reviewer(s, firm, f"r{i}@x.org")))
        return wish.id, ids
    return committed(url, build)


def _run(url):
    with unit_of_work(get_engine(url)) as s:
        return matching_runs.carry_out(s, matching_runs.start_run(s)).id


def _conflicting(url, wish_id, pledges):
    """A run's proposals for one wish from both pledges (as two runs' answers might
    overlap) — exactly the conflict acceptance must settle."""
    def build(s):
        run = MatchRun(status="proposed")
        s.add(run)
        s.flush()
        rows = [Allocation(need_id=wish_id, pledge_id=pid, amount=15_000, status="proposed",
                           match_run_id=run.id, expires_at=clock.now() + timedelta(days=7))
                for pid, _ in pledges]
        s.add_all(rows)
        s.flush()
        return run.id, [r.id for r in rows]
    return committed(url, build)


def test_a_run_proposes_and_the_reviewer_accepts(clean_url):
    wish_id, pledges = _two_pledges_one_wish(clean_url)
    run_id = _run(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        [proposal] = s.exec(select(Allocation).where(Allocation.match_run_id == run_id)).all()
        reviewer = dict(pledges)[proposal.pledge_id]
        other = [r for p, r in pledges if p != proposal.pledge_id][0]
        with pytest.raises(UserError, match="不能审核"):
            proposals.accept(s, proposal, other)
        proposals.accept(s, proposal, reviewer)
        assert proposal.status == "executed" and s.get(Need, wish_id).state == "funded"
        assert s.get(LedgerTxn, proposal.ledger_seq).kind == "allocation"
        assert s.get(Pledge, proposal.pledge_id).allocated == 15_000


def test_two_reviewers_accepting_one_whole_need_at_once_one_wins(clean_url):
    require_postgres()  # a race: the database's locks decide it, as in production
    wish_id, pledges = _two_pledges_one_wish(clean_url)
    run_id, ids = _conflicting(clean_url, wish_id, pledges)
    engine = get_engine(clean_url)
    barrier, results = threading.Barrier(2), []

    def review(i):
        barrier.wait()
        try:
            with unit_of_work(engine) as s:
                proposals.accept(s, s.get(Allocation, ids[i]), pledges[i][1])
            results.append("ok")
        except UserError as error:
            results.append(error.message())

    threads = [threading.Thread(target=review, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results.count("ok") == 1, results
    with unit_of_work(engine) as s:
        need = s.get(Need, wish_id)
        assert need.funded == 15_000 and need.state == "funded"
        assert sum(s.get(Pledge, p).allocated for p, _ in pledges) == 15_000
        states = sorted(s.get(Allocation, i).status for i in ids)
        assert states == ["executed", "proposed"]


def test_a_need_funded_meanwhile_refuses_the_proposal_and_nothing_moves(clean_url):
    wish_id, pledges = _two_pledges_one_wish(clean_url)
    run_id = _run(clean_url)
    committed(clean_url, lambda s: donors.donate_to_need(
        s, donors.create_donor(s, "张三"), s.get(Need, wish_id), 15_000))
    with unit_of_work(get_engine(clean_url)) as s:
        [proposal] = s.exec(select(Allocation).where(Allocation.match_run_id == run_id)).all()
        proposal_id, reviewer = proposal.id, dict(pledges)[proposal.pledge_id]
        seq = s.exec(select(LedgerTxn.seq).order_by(LedgerTxn.seq.desc())).first()
    with pytest.raises(UserError, match="筹满") as caught, unit_of_work(get_engine(clean_url)) as s:
        proposals.accept(s, s.get(Allocation, proposal_id), reviewer)
    assert "no longer open" in caught.value.message("en")
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(Allocation, proposal_id).status == "proposed"
        assert s.exec(select(LedgerTxn.seq).order_by(LedgerTxn.seq.desc())).first() == seq


def test_a_declined_partner_refuses_the_other_half_of_a_whole_need(clean_url):
    wish_id, pledges = _two_pledges_one_wish(clean_url)
    run_id, ids = _conflicting(clean_url, wish_id, pledges)
    with unit_of_work(get_engine(clean_url)) as s:
        with pytest.raises(UserError, match="理由"):
            proposals.decline(s, s.get(Allocation, ids[0]), pledges[0][1], " ")
        proposals.decline(s, s.get(Allocation, ids[0]), pledges[0][1], "本季度预算另有安排")
    with pytest.raises(UserError, match="另一项提议已被拒绝"), unit_of_work(
            get_engine(clean_url)) as s:
        proposals.accept(s, s.get(Allocation, ids[1]), pledges[1][1])


def test_unanswered_proposals_lapse(clean_url):
    wish_id, pledges = _two_pledges_one_wish(clean_url)
    run_id = _run(clean_url)
    later = clock.now() + matching_runs.PROPOSAL_LIFETIME + timedelta(seconds=1)
    with unit_of_work(get_engine(clean_url)) as s:
        [proposal] = s.exec(select(Allocation).where(Allocation.match_run_id == run_id)).all()
        reviewer = dict(pledges)[proposal.pledge_id]
    with clock.frozen(later), pytest.raises(UserError, match="失效"), unit_of_work(
            get_engine(clean_url)) as s:
        proposals.accept(s, s.get(Allocation, proposal.id), reviewer)
    with clock.frozen(later), unit_of_work(get_engine(clean_url)) as s:
        assert matching_runs.expire_proposals(s) == 1
        lapsed = s.get(Allocation, proposal.id)
        assert lapsed.status == "declined" and lapsed.reason == matching_runs.LAPSED_REASON


def test_accept_all_is_all_or_nothing(clean_url):
    def build(s):
        organisation = org(s)
        firm = donors.create_enterprise(s, "企业甲", "山东省/滨州市")
        pledge = donors.create_pledge(s, firm, 100_000, title="认捐", regions=[BZ])
        donors.pay_pledge(s, pledge, 100_000, "pay:1")
        needs_ = [verified_need(s, organisation, kind="wish", amount=10_000, title=f"心愿{i}")
                  for i in range(3)]
        return [n.id for n in needs_], _reviewer(s, firm, "r@x.org")

    need_ids, reviewer = committed(clean_url, build)
    run_id = _run(clean_url)
    committed(clean_url, lambda s: donors.donate_to_need(
        s, donors.create_donor(s, "李四"), s.get(Need, need_ids[1]), 10_000))
    with pytest.raises(UserError), unit_of_work(get_engine(clean_url)) as s:
        proposals.accept_all(s, s.get(MatchRun, run_id), reviewer)
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(Pledge, 1).allocated == 0
        open_ = proposals.open_proposals(s, s.get(MatchRun, run_id), reviewer)
        proposals.decline(s, next(p for p in open_ if p.need_id == need_ids[1]), reviewer,
                          "已被个人认领")
    with unit_of_work(get_engine(clean_url)) as s:
        assert proposals.accept_all(s, s.get(MatchRun, run_id), reviewer) == 2
        assert s.get(Pledge, 1).allocated == 20_000


def test_fund_proposals_go_through_four_eyes(clean_url):
    def build(s):
        fund = fund_with(s, 900_000)
        fund.second_approval_over = 100_000
        verified_need(s, org(s), kind="microgrant", amount=300_000, urgency=5)
        return fund_manager(s, fund, "a@x.org").id, fund_manager(s, fund, "b@x.org").id

    alice, bob = committed(clean_url, build)
    run_id = _run(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        [proposal] = s.exec(select(Allocation).where(Allocation.match_run_id == run_id)).all()
        proposals.accept(s, proposal, alice)
        assert proposal.status == "proposed"
        proposals.accept(s, proposal, bob)
        assert proposal.status == "executed"
        assert s.get(CommunityFund, proposal.fund_id).balance == 600_000


def test_a_run_failing_validation_writes_no_proposal(clean_url, monkeypatch):
    wish_id, _pledges = _two_pledges_one_wish(clean_url)

    def broken(instance, **_kw):  # the parsed instance (matching.model.Instance)
        need = instance.needs[0].id
        return {"allocations": [{"need": need, "source": s.id, "amount": 15_000}
                                for s in instance.sources],
                "unfunded": [], "stats": {"objective": 1.0, "upper_bound": 1.0,
                                          "seconds": 0.0, "funded_needs": 1, "stranded": 0}}

    monkeypatch.setattr(matching_runs.matching, "solve", broken)
    with unit_of_work(get_engine(clean_url)) as s:
        run = matching_runs.carry_out(s, matching_runs.start_run(s))
        assert run.status == "invalid" and run.stats["problems"]
        assert s.exec(select(Allocation).where(Allocation.status == "proposed")).all() == []
