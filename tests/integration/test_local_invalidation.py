"""A gift makes stale only what depends on it: that need's pages, the lists and totals.
Everything else stays cached; nothing is ever served stale (the tests' TTL is 0, so every
request reads the stamps, as a worker does once per TTL)."""
import pytest
from sqlmodel import select

from core.data_version import LISTS, SITE, DataScope, need_scope
from core.db import get_engine, unit_of_work
from donors import services as donors
from needs.models import Need, Organisation
from tests.conftest import make_app
from tests.integration.helpers import committed, fund_with, org, verified_need
from web import page_cache


def _counts(app, endpoint):
    with app.app_context():
        hits, misses = page_cache.stats()["by_endpoint"].get(endpoint, [0, 0])
    return hits, misses


@pytest.fixture
def two_projects(clean_url):
    def build(s):
        o = org(s)
        a = verified_need(s, o, kind="project", amount=100_000, title="助老食堂")
        b = verified_need(s, o, kind="project", amount=200_000, title="乡村书屋")
        donor = donors.create_donor(s, "张三")
        return (a.id, a.code), (b.id, b.code), donor.id

    return committed(clean_url, build)


def _give(url, need_id, donor_id, amount):
    with unit_of_work(get_engine(url)) as s:
        donors.donate_to_need(s, s.get(donors.Donor, donor_id), s.get(Need, need_id), amount)


def test_a_gift_leaves_other_need_pages_cached_and_refreshes_its_own_and_the_lists(
        clean_url, two_projects):
    (a_id, a_code), (_b_id, b_code), donor_id = two_projects
    app = make_app(clean_url)
    client = app.test_client()
    pages = [f"/needs/{a_code}", f"/needs/{b_code}", f"/disclosure/needs/{a_code}",
             f"/disclosure/needs/{b_code}", "/needs", "/disclosure/", "/"]
    before = {url: client.get(url).get_data(as_text=True) for url in pages}

    _give(clean_url, a_id, donor_id, 12_345)

    after = {url: client.get(url).get_data(as_text=True) for url in pages}
    # The other need's pages: served from memory, unchanged.
    assert after[f"/needs/{b_code}"] == before[f"/needs/{b_code}"]
    assert _counts(app, "public.need") == (1, 3)
    assert _counts(app, "disclosure.need_page") == (1, 3)
    # Its own pages and every list and total: rendered again, with the gift.
    for url in (f"/needs/{a_code}", f"/disclosure/needs/{a_code}", "/disclosure/"):
        assert "¥123.45" in after[url] and "¥123.45" not in before[url], url
    assert _counts(app, "public.needs") == (0, 2)
    assert _counts(app, "disclosure.index") == (0, 2)
    assert _counts(app, "public.home") == (0, 2)


def test_a_grant_from_a_fund_refreshes_the_need_and_the_fund_pages(clean_url, two_projects):
    from needs.funding import grant_from_fund

    (a_id, a_code), (_b, b_code), _donor = two_projects
    from tests.integration.helpers import fund_manager

    def fund_and_manager(s):
        fund = fund_with(s, 500_000)
        fund.need_kinds = ["microgrant", "wish", "project"]  # this fund also funds projects
        return fund.id, fund.code, fund_manager(s, fund).id
    fund_id, fund_code, manager_id = committed(clean_url, fund_and_manager)
    app = make_app(clean_url)
    client = app.test_client()
    fund_before = client.get(f"/disclosure/funds/{fund_code}").get_data(as_text=True)
    other_before = client.get(f"/needs/{b_code}").get_data(as_text=True)
    with unit_of_work(get_engine(clean_url)) as s:
        from funds.models import CommunityFund

        grant_from_fund(s, s.get(CommunityFund, fund_id), s.get(Need, a_id), 30_000, ref="g-1",
                        actor_id=manager_id)
    fund_after = client.get(f"/disclosure/funds/{fund_code}").get_data(as_text=True)
    assert "¥4,700.00" in fund_after and "¥4,700.00" not in fund_before
    assert "¥300.00" in client.get(f"/needs/{a_code}").get_data(as_text=True)
    assert client.get(f"/needs/{b_code}").get_data(as_text=True) == other_before
    assert _counts(app, "public.need") == (1, 2)


def test_a_write_that_is_not_only_money_invalidates_every_page(clean_url, two_projects):
    """Renaming the organisation shows on both needs' pages: `site` moved, not a need scope."""
    (_a, a_code), (_b, b_code), _donor = two_projects
    app = make_app(clean_url)
    client = app.test_client()
    for code in (a_code, b_code):
        assert "测试机构" in client.get(f"/needs/{code}").get_data(as_text=True)
    with unit_of_work(get_engine(clean_url)) as s:
        s.exec(select(Organisation)).one().name = "改名后的机构"
    for code in (a_code, b_code):
        assert "改名后的机构" in client.get(f"/needs/{code}").get_data(as_text=True)
    assert _counts(app, "public.need") == (0, 4)


def test_money_and_a_text_edit_in_one_unit_of_work_refresh_the_edited_need(
        clean_url, two_projects):
    """A gift to A plus an edit of B's title is not a pure money movement: B's page must not
    keep its old title."""
    (a_id, _a), (b_id, b_code), donor_id = two_projects
    app = make_app(clean_url)
    client = app.test_client()
    assert "乡村书屋" in client.get(f"/needs/{b_code}").get_data(as_text=True)
    with unit_of_work(get_engine(clean_url)) as s:
        donors.donate_to_need(s, s.get(donors.Donor, donor_id), s.get(Need, a_id), 5_000)
        s.get(Need, b_id).title = "乡村书屋（扩建）"
    assert "乡村书屋（扩建）" in client.get(f"/needs/{b_code}").get_data(as_text=True)


def _stamps(url):
    with unit_of_work(get_engine(url)) as s:
        return {row.scope: row.version for row in s.exec(select(DataScope)).all()}


def test_a_gift_stamps_the_lists_and_its_need_and_a_refused_gift_stamps_nothing(
        clean_url, two_projects):
    from core.errors import UserError

    (a_id, a_code), (_b, b_code), donor_id = two_projects
    start = _stamps(clean_url)
    _give(clean_url, a_id, donor_id, 1_000)
    after = _stamps(clean_url)
    changed = {k for k in after if after[k] != start.get(k)}
    assert changed == {LISTS, need_scope(a_code)}
    assert after[LISTS] == after[need_scope(a_code)] > start[SITE]
    with pytest.raises(UserError):  # more than is still open: refused, rolled back
        _give(clean_url, a_id, donor_id, 10_000_000)
    assert _stamps(clean_url) == after
    # The other need's stamp (data_scope rows outlive a test's truncation) did not move.
    assert after.get(need_scope(b_code)) == start.get(need_scope(b_code))


def test_totals_brought_forward_by_gifts_equal_a_recount(clean_url, two_projects):
    """After gifts need_summary only adds the new postings (a disbursement also records a
    disclosure date, so it recounts); the result is what counting every need again gives."""
    from needs.funding import disburse
    from readside import totals

    (a_id, _a), (b_id, _b), donor_id = two_projects

    def summary(fresh=False):
        if fresh:
            totals.clear_cache()
        with unit_of_work(get_engine(clean_url)) as s:
            got = totals.need_summary(s)
            return (got.needs, got.amount, got.funded, got.disbursed,
                    [(b.label, b.needs, b.amount, b.funded, b.disbursed) for b in
                     (*got.by_category, *got.by_county, *(b for _p, b in got.programmes))])

    totals.clear_cache()
    assert summary()[2] == 0
    _give(clean_url, a_id, donor_id, 7_000)
    _give(clean_url, b_id, donor_id, 3_000)
    with unit_of_work(get_engine(clean_url)) as s:
        disburse(s, s.get(Need, a_id), 2_500, paid_to="食堂供应商")
    brought_forward = summary()
    assert brought_forward[2:4] == (10_000, 2_500)
    assert brought_forward == summary(fresh=True)


def test_a_gift_confirmed_by_staff_stamps_only_the_lists_and_its_need(clean_url, two_projects):
    """The real giving path (bank transfer, staff confirm): the confirmation writes the
    payment's status and the receipt job beside the money; still only `lists` + its need."""
    from core.money import Money
    from donors.bank_transfer import BankTransferGateway
    from donors.gateway import BankAccount
    from donors.giving import confirm_payment, reference_taken, start_gift
    from donors.giving_models import GiftPayment

    (a_id, a_code), _b, _donor = two_projects
    account = BankAccount("善联慈善信息平台", "测试银行", "6222 0000 1111 2222")
    with unit_of_work(get_engine(clean_url)) as s:
        gateway = BankTransferGateway(account, is_taken=reference_taken(s))
        payment_id = start_gift(s, gateway, s.get(Need, a_id), Money.parse("88.00"),
                                name="李四", contact="li@example.cn").payment.id
    start = _stamps(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        assert confirm_payment(s, s.get(GiftPayment, payment_id)) == "confirmed"
    after = _stamps(clean_url)
    assert {k for k in after if after[k] != start.get(k)} == {LISTS, need_scope(a_code)}


def test_marking_a_deferred_job_sent_changes_no_scope(clean_url, two_projects):
    from core import outbox

    with unit_of_work(get_engine(clean_url)) as s:
        outbox.defer(s, "jobs.tasks.verify_ledger")  # in-process without Redis: sent at once
    start = _stamps(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        s.exec(select(outbox.OutboxJob)).one().enqueued_at = None  # as if never sent
    assert _stamps(clean_url) == start
