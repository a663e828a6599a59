"""A donation is pending until its money is confirmed; a need can be held for one payer."""
from datetime import timedelta

import pytest
from sqlmodel import select

from core import clock
from core.clock import now
from core.db import get_engine, unit_of_work
from core.errors import UserError
from donors import services as donors
from donors.models import Donation, Donor
from funds.models import LedgerTxn, Transfer
from needs import holds
from needs.models import Need
from tests.integration.helpers import committed, org, verified_need


def _wish_and_two_donors(url):
    def build(s):
        need = verified_need(s, org(s), amount=15_000)
        return need.id, donors.create_donor(s, "张三").id, donors.create_donor(s, "李四").id
    return committed(url, build)


def test_a_pending_donation_credits_nothing_until_confirmed(clean_url):
    need_id, donor_id, _ = _wish_and_two_donors(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        donation = donors.start_donation(s, s.get(Donor, donor_id), s.get(Need, need_id),
                                         15_000)
        assert donation.status == "pending"
        assert s.get(Need, need_id).funded == 0 and s.exec(select(LedgerTxn)).all() == []
        donors.confirm_donation(s, donation, "pay:1")
    with unit_of_work(get_engine(clean_url)) as s:
        donation = s.exec(select(Donation)).one()
        assert donation.status == "paid" and donation.ledger_seq is not None
        assert s.get(Need, need_id).funded == 15_000 and s.get(Need, need_id).state == "funded"
        [transfer] = s.exec(select(Transfer)).all()
        assert transfer.donation_id == donation.id and transfer.status == "executed"
        with pytest.raises(UserError):
            donors.confirm_donation(s, donation, "pay:2")  # confirmed once only


def test_a_hold_keeps_others_out_until_it_ends(clean_url):
    need_id, first_id, second_id = _wish_and_two_donors(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        need = s.get(Need, need_id)
        mine = donors.start_donation(s, s.get(Donor, first_id), need, 15_000)
        holds.place_hold(s, need, f"donation:{mine.id}")
        with pytest.raises(UserError, match="认领中"):
            holds.place_hold(s, need, "donation:999")
        with pytest.raises(UserError, match="认领中"):
            donors.donate_to_need(s, s.get(Donor, second_id), need, 15_000)
        donors.confirm_donation(s, mine, "pay:1")  # the holder's own payment goes through
        assert need.funded == 15_000


def test_an_expired_hold_is_no_hold(clean_url):
    need_id, first_id, second_id = _wish_and_two_donors(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        holds.place_hold(s, s.get(Need, need_id), "donation:1", until=now() + timedelta(minutes=5))
    with clock.frozen(now() + timedelta(minutes=6)), unit_of_work(get_engine(clean_url)) as s:
        need = s.get(Need, need_id)
        donors.donate_to_need(s, s.get(Donor, second_id), need, 15_000)
        assert need.funded == 15_000
        assert holds.release_hold(s, need) and need.hold_holder is None


@pytest.mark.parametrize("holder,minutes", [("", 5), ("x" * 81, 5), ("donation:1", -1)])
def test_bad_holds_are_refused(clean_url, holder, minutes):
    need_id, _, _ = _wish_and_two_donors(clean_url)
    with pytest.raises(UserError), unit_of_work(get_engine(clean_url)) as s:
        holds.place_hold(s, s.get(Need, need_id), holder, until=now() + timedelta(minutes=minutes))
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(Need, need_id).hold_holder is None
