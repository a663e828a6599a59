"""Gift confirmations applied in batches (donors.gift_batches): a batch gives exactly what
applying its gifts one by one gives; concurrent confirmations combine and still stop
exactly at a 配捐 offer's cap; an intent left by a process that died is applied later,
once; a payment confirmed twice at once is one ledger transaction. After every test the
chain verifies and every mirror column reconciles with the ledger."""
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, text
from sqlmodel import select

from core import clock
from core.clock import now
from core.db import get_engine, unit_of_work
from core.errors import UserError
from core.money import Money
from donors import gift_batches
from donors import services as donors
from donors.bank_transfer import BankTransferGateway
from donors.gateway import BankAccount
from donors.giving import confirm_and_wait, confirm_payment, reference_taken, start_gift
from donors.giving_models import GiftConfirmation, GiftPayment
from donors.match_models import MatchOffer, MatchOfferNeed, MatchShare
from donors.match_offers import approve_offer, create_offer
from donors.models import Donation, Donor
from funds import ledger
from funds.models import CommunityFund, LedgerTxn
from jobs.tasks import apply_queued_gifts
from needs.models import Need
from readside.reconcile import first_mismatch
from tests.conftest import require_postgres, truncate_all
from tests.integration.helpers import committed, org, verified_need

ACCOUNT = BankAccount("善联慈善信息平台", "测试银行", "6222 0000 1111 2222")


def _offer(s, *, total, per_gift=None, per_need=None):
    firm = donors.create_enterprise(s, "爱心企业", "山东省/滨州市")
    offer = create_offer(s, firm, title="配捐", ratio_pct=100, total_cap=Money.yuan(total),
                         per_gift_cap=Money.yuan(per_gift) if per_gift else None,
                         per_need_cap=Money.yuan(per_need) if per_need else None,
                         starts_at=now() - timedelta(days=1), ends_at=now() + timedelta(days=30))
    approve_offer(s, offer)
    return offer.id


def _start(url, need_id, yuan=None, i=0, if_taken="refund", minutes=None):
    with unit_of_work(get_engine(url)) as s:
        gateway = BankTransferGateway(ACCOUNT, is_taken=reference_taken(s))
        started = start_gift(s, gateway, s.get(Need, need_id),
                             Money.yuan(yuan) if yuan else None, name=f"捐赠者{i}",
                             contact=f"d{i}@example.cn", if_taken=if_taken, minutes=minutes)
        return started.payment.id


def _queue_only(url, payment_id):
    """What a process that dies right after committing its intent leaves behind."""
    with unit_of_work(get_engine(url)) as s:
        assert gift_batches.queue(s, payment_id)


def _check_books(url):
    with unit_of_work(get_engine(url)) as s:
        verdict = ledger.verify(s)
        assert verdict.ok, verdict
        assert first_mismatch(s) is None
        return verdict.count


def _snapshot(url):
    """Everything a confirmation writes that can be compared across two databases: the
    ledger without its hashes and times, mirror columns, offer counters, outcomes."""
    with unit_of_work(get_engine(url)) as s:
        # Donors' ledger ids are random: name them by their row id.
        donor = {f"donor:{d.public_id}": f"donor #{d.id}" for d in s.exec(select(Donor))}
        txns = [(t["kind"], t["ref"], t["memo"],
                 tuple((donor.get(p["account"], p["account"]), p["amount"])
                       for p in t["postings"]))
                for t in ledger.iter_transactions(s)]
        needs = sorted((n.title, n.funded, n.state, n.hold_holder) for n in s.exec(select(Need)))
        offers = sorted((o.title, o.used) for o in s.exec(select(MatchOffer)))
        counters = sorted((c.need_id, c.cap, c.used) for c in s.exec(select(MatchOfferNeed)))
        shares = sorted((m.donation_id, m.need_id, m.amount) for m in s.exec(select(MatchShare)))
        payments = sorted((p.id, p.status) for p in s.exec(select(GiftPayment)))
        donations = sorted((d.id, d.status, d.need_id, d.fund_id) for d in s.exec(select(Donation)))
        funds = sorted((f.code, f.balance) for f in s.exec(select(CommunityFund)))
        accounts = sorted((donor.get(a, a), i, o) for a, i, o in s.execute(text(
            "SELECT account, money_in, money_out FROM ledger_account_total")).all())
        return txns, needs, offers, counters, shares, payments, donations, funds, accounts


def _mixed(url):
    """Six payments whose outcomes differ: confirmed with a share, confirmed with the share
    cut at the per-need cap, the total cap and what the need lacks, a whole wish taken by
    another (late → refund, late → redirect) and one that takes it."""
    def build(s):
        organisation = org(s)
        projects = [verified_need(s, organisation, kind="project", amount=amount,
                                  title=f"图书角{i}").id
                    for i, amount in enumerate((10_000_000, 10_000_000, 45_000))]
        wish = verified_need(s, organisation, kind="wish", amount=15_000, title="书包").id
        offer = _offer(s, total="230", per_gift="100", per_need="150")
        return projects, wish, offer
    (a, b, c), wish, offer = committed(url, build)
    clock.set_now(now() - timedelta(hours=1))
    lapsed = [_start(url, wish, i=1, if_taken="refund", minutes=5)]
    clock.set_now(now() + timedelta(minutes=10))  # that hold lapsed: another may claim
    lapsed.append(_start(url, wish, i=2, if_taken="redirect", minutes=5))
    clock.set_now(now() + timedelta(minutes=10))
    winner = _start(url, wish, i=3)
    clock.set_now(None)
    return [_start(url, a, "120", 4), _start(url, a, "80", 5), _start(url, b, "300", 6),
            winner, *lapsed, _start(url, c, "300", 7), _start(url, b, "50", 8)], (a, b, c)


def test_a_batch_of_mixed_outcomes_is_what_one_by_one_gives(clean_url, jobs_recorded):
    # The same gifts on an emptied database (ids restart), applied once in one batch, then
    # confirmed one by one in the same order.
    payments, (a, b, _c) = _mixed(clean_url)
    for payment in payments:
        _queue_only(clean_url, payment)
    with unit_of_work(get_engine(clean_url)) as s:
        applied = gift_batches.apply_pending(s)
    assert list(applied) == payments
    _check_books(clean_url)
    batch = _snapshot(clean_url)

    truncate_all(clean_url)
    again, _needs = _mixed(clean_url)
    assert again == payments
    one_by_one = []
    for payment in payments:
        with unit_of_work(get_engine(clean_url)) as s:
            one_by_one.append(confirm_payment(s, s.get(GiftPayment, payment)))
    _check_books(clean_url)

    assert [applied[p] for p in payments] == one_by_one == [
        "confirmed", "confirmed", "confirmed", "confirmed", "late", "redirected",
        "confirmed", "confirmed"]
    assert batch == _snapshot(clean_url)
    txns, _, offers, counters = batch[:4]
    # Shares: 100 (the per-gift cap), 50 (图书角0's per-need cap of 150 reached), 80 (the
    # total of 230 reached); none for the wish, 图书角2 or the last gift.
    assert [t[0] for t in txns] == ["donation", "match", "donation", "match", "donation",
                                    "match", "donation", "donation", "donation", "donation"]
    assert [t[3][0][1] for t in txns if t[0] == "match"] == [-10_000, -5_000, -8_000]
    assert offers == [("配捐", 23_000)]
    assert counters == sorted([(a, 15_000, 15_000), (b, 15_000, 8_000)])


@pytest.mark.postgres
def test_two_hundred_combined_confirmations_stop_exactly_at_the_cap(clean_url, jobs_recorded):
    require_postgres()

    def build(s):
        return verified_need(s, org(s), kind="project", amount=10_000_000).id, \
            _offer(s, total="1234.56")
    need, offer = committed(clean_url, build)
    payments = [_start(clean_url, need, "10", i) for i in range(200)]
    engine = get_engine(clean_url)
    with ThreadPoolExecutor(max_workers=32) as pool:
        outcomes = list(pool.map(lambda p: confirm_and_wait(engine, p), payments))
    assert outcomes == ["confirmed"] * 200
    receipts = [args[0] for f, args in jobs_recorded if f == "jobs.tasks.issue_receipt"]
    assert len(receipts) == len(set(receipts)) == 200
    assert _check_books(clean_url) == 200 + 124
    with unit_of_work(engine) as s:
        assert s.get(MatchOffer, offer).used == 123_456
        shares = [m.amount for m in s.exec(select(MatchShare))]
        assert sum(shares) == 123_456 and len(shares) == 124
        assert s.get(Need, need).funded == 200 * 1_000 + 123_456
        batches = s.execute(select(func.count(func.distinct(GiftConfirmation.applied_at)))
                            ).scalar()
        assert batches < 200  # they combined


def test_an_intent_left_by_a_dead_process_is_applied_once_by_the_next_confirmation(
        clean_url, jobs_recorded):
    def build(s):
        return verified_need(s, org(s), kind="project", amount=10_000_000).id
    need = committed(clean_url, build)
    orphan, other = _start(clean_url, need, "100", 1), _start(clean_url, need, "50", 2)
    _die_after_queueing(clean_url, orphan)
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(GiftPayment, orphan).status == "awaiting"
        assert confirm_payment(s, s.get(GiftPayment, other)) == "confirmed"
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(GiftPayment, orphan).status == "confirmed"
        assert s.get(Need, need).funded == 15_000
        with pytest.raises(UserError):  # applied once: confirming it again is refused
            confirm_payment(s, s.get(GiftPayment, orphan))
    assert apply_queued_gifts(clean_url) == 0
    assert _check_books(clean_url) == 2


def test_an_intent_left_by_a_dead_process_is_applied_once_by_the_periodic_job(
        clean_url, jobs_recorded):
    def build(s):
        return verified_need(s, org(s), kind="project", amount=10_000_000).id
    need = committed(clean_url, build)
    orphans = [_start(clean_url, need, "100", i) for i in range(3)]
    for payment in orphans:
        _die_after_queueing(clean_url, payment)
    assert apply_queued_gifts(clean_url) == 3
    assert apply_queued_gifts(clean_url) == 0
    with unit_of_work(get_engine(clean_url)) as s:
        assert [s.get(GiftPayment, p).status for p in orphans] == ["confirmed"] * 3
        assert s.get(Need, need).funded == 30_000
    with pytest.raises(UserError):
        confirm_and_wait(get_engine(clean_url), orphans[0])
    assert _check_books(clean_url) == 3


def _die_after_queueing(url, payment_id):
    """A real process that commits the intent and dies (os._exit) before applying it."""
    script = textwrap.dedent(f"""
        import os
        from core.db import get_engine, unit_of_work
        from donors import gift_batches
        with unit_of_work(get_engine({url!r})) as s:
            gift_batches.queue(s, {payment_id})
        os._exit(9)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == 9, result.stderr.decode()[-2000:]


@pytest.mark.postgres
@pytest.mark.parametrize("how", ["combined", "in_session", "mixed"])
def test_the_same_payment_confirmed_twice_at_once_is_one_ledger_transaction(
        clean_url, jobs_recorded, how):
    require_postgres()

    def build(s):
        return verified_need(s, org(s), kind="project", amount=10_000_000).id
    need = committed(clean_url, build)
    payments = [_start(clean_url, need, "100", i) for i in range(10)]
    engine = get_engine(clean_url)

    def in_session(payment_id):
        with unit_of_work(engine) as s:
            return confirm_payment(s, s.get(GiftPayment, payment_id))

    def confirm(args):
        i, payment_id = args
        way = {"combined": confirm_and_wait, "in_session": None}.get(how)
        try:
            if way is confirm_and_wait or (how == "mixed" and i % 2):
                return confirm_and_wait(engine, payment_id)
            return in_session(payment_id)
        except UserError:
            return "refused"

    twice = [(i, p) for p in payments for i in range(2)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(confirm, twice))
    # Each payment: confirmed once; the other call sees the same outcome or is refused.
    assert all(o in ("confirmed", "refused") for o in outcomes)
    for k in range(10):
        assert "confirmed" in outcomes[2 * k: 2 * k + 2]
    with unit_of_work(engine) as s:
        refs = s.exec(select(LedgerTxn.ref)).all()
        assert sorted(refs) == sorted(set(refs)) and len(refs) == 10
        assert s.get(Need, need).funded == 100_000
    assert _check_books(clean_url) == 10
