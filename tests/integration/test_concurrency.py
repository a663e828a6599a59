"""Many writers at once on the real PostgreSQL: the chain never forks, nothing is
over-funded, no balance goes negative — enforced by the database, not only by Python."""
import threading

import pytest
from sqlmodel import select

from core.db import get_engine, unit_of_work
from core.errors import UserError
from donors import services as donors
from donors.models import Donation
from funds import ledger
from funds.models import CommunityFund
from needs import funding
from needs.models import Need
from tests.conftest import require_postgres
from tests.integration.helpers import committed, fund_manager, fund_with, org, verified_need


def _race(n, work):
    """Start n threads at the same instant; return (successes, refusals)."""
    barrier = threading.Barrier(n)
    results = []

    def run(i):
        barrier.wait()
        try:
            work(i)
            results.append("ok")
        except UserError:
            results.append("refused")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results.count("ok"), results.count("refused")


@pytest.fixture
def pg(clean_url):
    require_postgres()
    return clean_url


def test_concurrent_appends_never_fork_the_chain(pg):
    engine = get_engine(pg)

    def append_many(i):
        for k in range(20):
            with unit_of_work(engine) as s:
                ledger.append(s, "donation", f"donation:{i}-{k}",
                              [(f"donor:d{i}", -100), ("need:W-1", 100)])

    ok, refused = _race(8, append_many)
    assert (ok, refused) == (8, 0)
    with unit_of_work(engine) as s:
        verdict = ledger.verify(s)
        assert verdict.ok and verdict.count == 160, verdict
        assert ledger.balance(s, "need:W-1") == 16_000


def test_two_donors_at_once_cannot_both_claim_one_wish(pg):
    def build(s):
        need = verified_need(s, org(s), kind="wish", amount=15_000)
        people = [donors.create_donor(s, f"捐赠者{i}") for i in range(10)]
        return need.id, [p.id for p in people]

    need_id, donor_ids = committed(pg, build)
    engine = get_engine(pg)

    def claim(i):
        with unit_of_work(engine) as s:
            donors.donate_to_need(s, s.get(donors.Donor, donor_ids[i]), s.get(Need, need_id), 15_000)

    ok, refused = _race(10, claim)
    assert (ok, refused) == (1, 9)
    with unit_of_work(engine) as s:
        need = s.get(Need, need_id)
        assert need.funded == 15_000 and need.state == "funded"
        assert len(s.exec(select(Donation)).all()) == 1  # refused gifts left nothing behind
        assert ledger.balance(s, f"need:{need.code}") == 15_000
        assert ledger.verify(s).ok


def test_many_donors_filling_a_project_never_overfund_it(pg):
    def build(s):
        need = verified_need(s, org(s), kind="project", amount=100_000, title="助老食堂")
        return need.id, [donors.create_donor(s, f"捐赠者{i}").id for i in range(12)]

    need_id, donor_ids = committed(pg, build)
    engine = get_engine(pg)

    def give(i):
        with unit_of_work(engine) as s:
            donors.donate_to_need(s, s.get(donors.Donor, donor_ids[i]), s.get(Need, need_id), 30_000)

    ok, refused = _race(12, give)
    assert (ok, refused) == (3, 9)
    with unit_of_work(engine) as s:
        need = s.get(Need, need_id)
        assert need.funded == 90_000 <= need.amount
        assert ledger.balance(s, f"need:{need.code}") == need.funded


def test_concurrent_grants_never_drive_a_fund_negative(pg):
    def build(s):
        organisation = org(s)
        fund = fund_with(s, 10_000)
        needs_ = [verified_need(s, organisation, kind="microgrant", amount=3_000,
                                title=f"小急难{i}") for i in range(8)]
        return fund.id, [n.id for n in needs_], fund_manager(s, fund).id

    fund_id, need_ids, manager = committed(pg, build)
    engine = get_engine(pg)

    def grant(i):
        with unit_of_work(engine) as s:
            need = s.get(Need, need_ids[i])
            funding.grant_from_fund(s, s.get(CommunityFund, fund_id), need, 3_000,
                                    f"grant:{need.code}", actor_id=manager)

    ok, refused = _race(8, grant)
    assert (ok, refused) == (3, 5)
    with unit_of_work(engine) as s:
        fund = s.get(CommunityFund, fund_id)
        assert fund.balance == 1_000
        assert ledger.balance(s, f"fund:{fund.code}") == fund.balance
        assert ledger.verify(s).ok
