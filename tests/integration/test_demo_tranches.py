"""The demo's pledges pay in through their tranches: what each pledge has paid in is exactly
its confirmed tranches, and confirming the tranches still due would fill its budget (the
demo once showed ¥800,000 paid in beside an unconfirmed ¥800,000 tranche, whose
confirmation the service then refused)."""
from sqlmodel import select

from core.clock import aware, now
from core.db import get_engine, unit_of_work
from donors.models import Pledge, PledgeTranche


def test_every_demo_pledge_agrees_with_its_tranches(demo_url):
    with unit_of_work(get_engine(demo_url)) as s:
        pledges = s.exec(select(Pledge)).all()
        assert len(pledges) >= 5
        for pledge in pledges:
            tranches = s.exec(select(PledgeTranche).where(PledgeTranche.pledge_id == pledge.id)
                              ).all()
            paid = [t for t in tranches if t.paid_at is not None]
            assert sum(t.amount for t in paid) == pledge.paid_in > 0, pledge.code
            assert sum(t.amount for t in tranches) == pledge.budget, pledge.code
            assert all(t.ledger_seq for t in paid), pledge.code
            assert all(aware(t.paid_at) <= now() for t in paid), pledge.code
