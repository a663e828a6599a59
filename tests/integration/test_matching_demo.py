"""A matching run over the demo data (PostgreSQL in CI): it proposes something, and every
proposal, read back from the database, passes the engine's own validator. The only test of
this module, since it writes proposals into the module's demo data."""
import json

from sqlmodel import select

import matching
from core.db import get_engine, unit_of_work
from donors import matching_runs
from donors.models import Pledge
from funds.models import Allocation, CommunityFund, LedgerTxn, MatchRun
from needs.models import Need
from tests.conftest import require_postgres


def test_a_run_on_demo_data_proposes_only_valid_allocations(demo_url):
    require_postgres()  # the issue asks for this run on PostgreSQL (COPY writes the proposals)
    engine = get_engine(demo_url)
    with unit_of_work(engine) as s:
        ledger_before = len(s.exec(select(LedgerTxn)).all())
        dry = matching_runs.carry_out(s, matching_runs.start_run(s, dry_run=True))
        assert dry.status == "dry_run" and dry.stats["allocations"] > 0
        assert s.exec(select(Allocation).where(Allocation.status == "proposed")).all() == []
    with unit_of_work(engine) as s:
        run = matching_runs.carry_out(s, matching_runs.start_run(s))
        run_id, instance = run.id, matching_runs.build_instance(s)
    assert run.stats["instance_hash"] == dry.stats["instance_hash"]
    with unit_of_work(engine) as s:
        run = s.get(MatchRun, run_id)
        assert run.status == "proposed" and float(run.objective) <= float(run.upper_bound) + 1e-6
        proposals = s.exec(select(Allocation).where(Allocation.match_run_id == run_id)).all()
        assert len(proposals) == run.stats["proposals"] > 0
        codes = dict(s.exec(select(Need.id, Need.code)).all())
        sources = {}
        for p in proposals:
            source = (s.get(Pledge, p.pledge_id).code if p.pledge_id else
                      s.get(CommunityFund, p.fund_id).code)
            sources.setdefault(p.id, source)
            assert p.status == "proposed" and p.ledger_seq is None and p.expires_at
            assert json.loads(p.why)["eligible"]
        allocations = [{"need": codes[p.need_id], "source": sources[p.id], "amount": p.amount}
                       for p in proposals]
        problems = matching.validate(matching.parse_instance(instance),
                                     {"allocations": allocations, "unfunded": [], "stats": {}})
        # the proposals themselves (stats are the run's, checked above)
        assert [p for p in problems if not str(p).startswith("stats.")] == []
        assert sum(a["amount"] for a in allocations) == run.stats["matched"]
        # proposing moves no money
        assert len(s.exec(select(LedgerTxn)).all()) == ledger_before
        assert run.stats["by_urgency"]["5"]["open"] >= run.stats["by_urgency"]["5"]["funded"]
