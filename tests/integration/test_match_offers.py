"""配捐: a confirmed eligible gift gets the offer's share in the same unit of work; caps per
gift, per need and in total hold exactly, also with 200 gifts at once on PostgreSQL."""
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core.clock import now
from core.db import get_engine, unit_of_work
from core.errors import UserError
from core.money import Money
from donors import services as donors
from donors.bank_transfer import BankTransferGateway
from donors.gateway import BankAccount
from donors.giving import confirm_payment, reference_taken, start_gift
from donors.match_models import MatchOffer, MatchShare
from donors.match_offers import approve_offer, create_offer
from funds import ledger
from needs.models import Need
from readside.reconcile import first_mismatch
from tests.conftest import make_app, require_postgres
from tests.integration.helpers import committed, org, verified_need

ACCOUNT = BankAccount("善联慈善信息平台", "测试银行", "6222 0000 1111 2222")


def _setup(url, *, total="1000", per_gift=None, per_need=None, approve=True, category=None,
           need_amount=10_000_000, needs=1):
    def build(s):
        organisation = org(s)
        need_ids = [verified_need(s, organisation, kind="project", amount=need_amount,
                                  title=f"图书角{i}").id for i in range(needs)]
        firm = donors.create_enterprise(s, "爱心企业", "山东省/滨州市")
        offer = create_offer(
            s, firm, title="一米阳光配捐", ratio_pct=100, total_cap=Money.yuan(total),
            per_gift_cap=Money.yuan(per_gift) if per_gift else None,
            per_need_cap=Money.yuan(per_need) if per_need else None,
            starts_at=now() - timedelta(days=1), ends_at=now() + timedelta(days=30),
            categories=[category] if category else [])
        if approve:
            approve_offer(s, offer)
        return need_ids, offer.id
    return committed(url, build)


def _give_and_confirm(url, need_id, yuan, i=0):
    with unit_of_work(get_engine(url)) as s:
        gateway = BankTransferGateway(ACCOUNT, is_taken=reference_taken(s))
        started = start_gift(s, gateway, s.get(Need, need_id), Money.yuan(yuan),
                             name=f"捐赠者{i}", contact=f"d{i}@example.cn")
        return confirm_payment(s, started.payment)


def _state(url, offer_id):
    with unit_of_work(get_engine(url)) as s:
        offer = s.get(MatchOffer, offer_id)
        shares = sorted(x.amount for x in s.exec(select(MatchShare)).all())
        assert ledger.verify(s).ok and first_mismatch(s) is None
        return offer.used, shares


def test_a_gift_is_matched_one_to_one_and_the_ledger_shows_it(clean_url):
    [need], offer = _setup(clean_url)
    assert _give_and_confirm(clean_url, need, "150") == "confirmed"
    used, shares = _state(clean_url, offer)
    assert used == 15_000 and shares == [15_000]
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(Need, need).funded == 30_000
        kinds = [t["kind"] for t in ledger.iter_transactions(s)]
        assert kinds == ["donation", "match"]


def test_caps_per_gift_per_need_and_in_total(clean_url):
    needs, offer = _setup(clean_url, total="500", per_gift="100", per_need="250", needs=3)
    for i, (need, yuan) in enumerate([(needs[0], "300"), (needs[0], "300"), (needs[0], "300"),
                                      (needs[1], "80"), (needs[2], "300"), (needs[2], "300")]):
        _give_and_confirm(clean_url, need, yuan, i)
    used, shares = _state(clean_url, offer)
    # need 0: 100 + 100 + 50 (per-need cap 250); need 1: 80; need 2: 100, then 70 (total 500)
    assert shares == sorted([10_000, 10_000, 5_000, 8_000, 10_000, 7_000])
    assert used == 50_000


@pytest.mark.parametrize("setup", [dict(approve=False), dict(category="助老")])  # need: 助学
def test_no_match_before_approval_or_outside_the_categories(clean_url, setup):
    [need], offer = _setup(clean_url, **setup)
    _give_and_confirm(clean_url, need, "100")
    assert _state(clean_url, offer) == (0, [])


def test_no_match_outside_the_window(clean_url):
    [need], offer = _setup(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        s.get(MatchOffer, offer).ends_at = now() - timedelta(seconds=1)
    _give_and_confirm(clean_url, need, "100")
    assert _state(clean_url, offer) == (0, [])


def test_the_match_never_overfunds_the_need(clean_url):
    [need], offer = _setup(clean_url, need_amount=15_000)
    _give_and_confirm(clean_url, need, "100")  # need ¥150: gift 100, match only 50
    assert _state(clean_url, offer) == (5_000, [5_000])


def test_bad_offers_are_refused_and_the_database_holds_the_cap(clean_url):
    def build(s):
        firm = donors.create_enterprise(s, "爱心企业", "山东省/滨州市")
        start = now()
        for kwargs in [dict(ratio_pct=0), dict(total_cap=Money.fen(0)),
                       dict(ends_at=start - timedelta(days=1)), dict(title=" ")]:
            args = dict(title="配捐", ratio_pct=100, total_cap=Money.yuan("10"),
                        starts_at=start, ends_at=start + timedelta(days=1)) | kwargs
            with pytest.raises(UserError):
                create_offer(s, firm, **args)
        return create_offer(s, firm, title="配捐", ratio_pct=100, total_cap=Money.yuan("10"),
                            starts_at=start, ends_at=start + timedelta(days=1)).id
    offer_id = committed(clean_url, build)
    with pytest.raises(IntegrityError), unit_of_work(get_engine(clean_url)) as s:
        s.get(MatchOffer, offer_id).used = 1_001
        s.flush()


def test_the_meter_shows_what_is_left_and_refreshes_by_htmx(clean_url):
    [need], offer = _setup(clean_url)
    client = make_app(clean_url).test_client()
    with unit_of_work(get_engine(clean_url)) as s:
        code, need_code = s.get(MatchOffer, offer).code, s.get(Need, need).code
    assert "¥1,000.00" in client.get(f"/match-offers/{code}/meter").get_data(as_text=True)
    _give_and_confirm(clean_url, need, "150")
    meter = client.get(f"/match-offers/{code}/meter", headers={"HX-Request": "true"})
    html = meter.get_data(as_text=True)
    assert "配捐剩余" in html and "¥850.00" in html and 'hx-trigger="every 10s"' in html
    page = client.get(f"/needs/{need_code}").get_data(as_text=True)
    assert "¥850.00" in page and f"/match-offers/{code}/meter" in page
    assert client.get("/match-offers/MO-999/meter").status_code == 404


@pytest.mark.postgres
def test_two_hundred_gifts_at_once_stop_exactly_at_the_cap(clean_url, jobs_recorded):
    require_postgres()
    [need], offer = _setup(clean_url, total="1234.56")
    with ThreadPoolExecutor(max_workers=32) as pool:
        outcomes = list(pool.map(lambda i: _give_and_confirm(clean_url, need, "10", i),
                                 range(200)))
    assert outcomes.count("confirmed") == 200
    receipts = [args[0] for func, args in jobs_recorded if func == "jobs.tasks.issue_receipt"]
    assert len(receipts) == len(set(receipts)) == 200
    used, shares = _state(clean_url, offer)
    assert used == 123_456 and sum(shares) == 123_456 and len(shares) == 124
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(Need, need).funded == 200 * 1_000 + 123_456
