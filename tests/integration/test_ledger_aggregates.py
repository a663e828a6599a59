"""The totals the ledger keeps on append agree with summing its postings, and roll back
with them."""
import pytest
from sqlalchemy import case, func
from sqlmodel import select

from core.db import get_engine, unit_of_work
from core.errors import UserError
from donors import services as donors
from funds import ledger
from funds.ledger_aggregates import LedgerAccountTotal, LedgerMonthTotal
from funds.models import LedgerPosting
from needs.models import Need
from tests.integration.helpers import committed, org, verified_need


def _kept(s):
    return {r.account: (r.money_in, r.money_out, r.first_seq, r.last_seq)
            for r in s.exec(select(LedgerAccountTotal)).all()}


def _summed(s):
    positive = func.sum(case((LedgerPosting.amount > 0, LedgerPosting.amount), else_=0))
    negative = func.sum(case((LedgerPosting.amount < 0, -LedgerPosting.amount), else_=0))
    return {a: (int(i), int(o), lo, hi) for a, i, o, lo, hi in s.execute(
        select(LedgerPosting.account, positive, negative, func.min(LedgerPosting.seq),
               func.max(LedgerPosting.seq)).group_by(LedgerPosting.account)).all()}


def test_kept_totals_equal_the_postings_of_the_demo_ledger(demo_url):
    with unit_of_work(get_engine(demo_url)) as s:
        kept = _kept(s)
        assert len(kept) > 50  # donors, enterprises, pledges, funds, needs, disbursed
        assert kept == _summed(s)
        months = s.exec(select(LedgerMonthTotal)).all()
        assert sum(m.txns for m in months) == ledger.head(s).seq
        assert sum(m.net for m in months) == 0  # every transaction balances
        assert sum(m.positive for m in months) == s.execute(select(func.sum(
            case((LedgerPosting.amount > 0, LedgerPosting.amount), else_=0)))).scalar()


def test_an_append_adds_its_postings_and_a_refused_one_adds_nothing(clean_url):
    need_id, code = committed(clean_url, lambda s: (lambda n: (n.id, n.code))(
        verified_need(s, org(s), kind="project", amount=100_000)))
    donor_id = committed(clean_url, lambda s: donors.create_donor(s, "李四").id)
    for amount in (2_500, 4_000):
        with unit_of_work(get_engine(clean_url)) as s:
            donors.donate_to_need(s, s.get(donors.Donor, donor_id), s.get(Need, need_id), amount)
    with unit_of_work(get_engine(clean_url)) as s:
        kept = _kept(s)
        assert kept[f"need:{code}"] == (6_500, 0, 1, 2)
        assert kept == _summed(s)
    with pytest.raises(UserError), unit_of_work(get_engine(clean_url)) as s:
        ledger.append(s, "donation", "x", [("donor:abc", -100), (f"need:{code}", 100)])
        ledger.append(s, "donation", "x", [("donor:abc", -100), (f"need:{code}", 99)])
    with unit_of_work(get_engine(clean_url)) as s:
        assert _kept(s) == kept
