"""Choices for one gift at once on PostgreSQL (a double click, the donor's account and the
mailed link at once), and the 30-day job run by several workers at once: exactly one wins,
the others are refused, and the ledger holds at most one transfer for the gift."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import pytest
from sqlmodel import select

from core import clock
from core.clock import now
from core.db import get_engine, unit_of_work
from core.errors import UserError
from donors import returns
from funds.models import LedgerTxn
from tests.conftest import require_postgres
from tests.integration.helpers import fund_with
from tests.integration.returns_helpers import case_of, close, give, need, outbox, world  # noqa: F401
from tests.integration.test_gift_returns import _sound


@pytest.mark.postgres
def test_eight_choices_at_once_one_wins(clean_url, outbox):  # noqa: F811
    require_postgres()
    codes = world(clean_url)
    gift = give(clean_url, codes["project"], 30_000)
    close(clean_url, codes["project"])
    case_id = case_of(clean_url, gift).id
    with unit_of_work(get_engine(clean_url)) as s:
        fund_code = fund_with(s, 10_000).code
    targets = [f"need:{codes['other']}", f"fund:{fund_code}", "refund"] * 3
    barrier = Barrier(len(targets))

    def choose(target):
        barrier.wait()
        try:
            with unit_of_work(get_engine(clean_url)) as s:
                returns.decide(s, case_id, target)
                return target
        except UserError:
            return "refused"

    with ThreadPoolExecutor(len(targets)) as pool:
        outcomes = list(pool.map(choose, targets))
    winners = [o for o in outcomes if o != "refused"]
    assert len(winners) == 1, outcomes
    with unit_of_work(get_engine(clean_url)) as s:
        moved = s.exec(select(LedgerTxn).where(LedgerTxn.ref == f"gift_return:{case_id}")).all()
    done = case_of(clean_url, gift)
    # A bank refund waits for staff (no transaction yet); every other outcome is one transfer.
    assert len(moved) == (0 if done.status == "awaiting_refund" else 1)
    assert need(clean_url, codes["project"]).funded == (30_000 if not moved else 0)
    _sound(clean_url)


@pytest.mark.postgres
def test_the_default_applied_by_four_workers_at_once_moves_the_money_once(clean_url,
                                                                           outbox):  # noqa: F811
    require_postgres()
    codes = world(clean_url)
    gifts = [give(clean_url, codes["project"], 10_000 + i) for i in range(3)]
    close(clean_url, codes["project"])
    clock.set_now(now() + timedelta(days=30, minutes=1))
    barrier = Barrier(4)

    def run(_):
        barrier.wait()
        with unit_of_work(get_engine(clean_url)) as s:
            return returns.apply_due_defaults(s)

    with ThreadPoolExecutor(4) as pool:
        counts = list(pool.map(run, range(4)))
    assert sum(counts) == 3, counts
    assert {case_of(clean_url, g).status for g in gifts} == {"defaulted"}
    with unit_of_work(get_engine(clean_url)) as s:
        assert len(s.exec(select(LedgerTxn).where(LedgerTxn.kind == "redirect")).all()) == 3
    assert need(clean_url, codes["project"]).funded == 0
    _sound(clean_url)
