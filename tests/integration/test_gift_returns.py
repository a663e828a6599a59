"""Refunds and redirects (issue 9 part 5): a need closed after money came in asks each
donor where their gift goes; every path is a ledger transfer or reversal, the need's and
the fund's totals follow, and the chain and every mirror column still reconcile."""
import re
from datetime import timedelta

import pytest
from sqlmodel import func, select

from core import clock
from core.clock import now
from core.db import get_engine, unit_of_work
from core.notify import Notification
from core.tokens import make_return_token
from donors.models import Donation
from donors.return_models import GiftReturn
from funds import ledger
from funds.models import CommunityFund, LedgerTxn
from jobs import tasks
from readside.reconcile import first_mismatch
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in
from tests.integration.helpers import fund_with
from tests.integration.returns_helpers import (  # noqa: F401  (outbox is a fixture)
    FakeCheckout,
    case_of,
    close,
    give,
    mails,
    need,
    outbox,
    world,
)
from tests.stripe_fake import FakeStripe


def _sound(url):
    with unit_of_work(get_engine(url)) as s:
        assert ledger.verify(s).ok
        assert first_mismatch(s) is None


def _txns(url, kind):
    with unit_of_work(get_engine(url)) as s:
        return s.exec(select(LedgerTxn).where(LedgerTxn.kind == kind)).all()


def _donor_client(app, uid):
    client = app.test_client()
    sign_in(client, uid)
    return client


@pytest.fixture
def gifts(clean_url, outbox):  # noqa: F811
    """A signed-in donor's ¥300 and a guest's ¥200 on a project that is then cancelled."""
    codes = world(clean_url)
    uid = make_user(clean_url, "donor@example.cn", ("donor", {}))
    mine = give(clean_url, codes["project"], 30_000, user_id=uid)
    guest = give(clean_url, codes["project"], 20_000, name="李四", contact="li@example.cn")
    close(clean_url, codes["project"])
    return codes, uid, mine, guest


def test_closing_a_need_opens_one_decision_per_gift_and_tells_each_donor(clean_url, gifts,
                                                                          outbox):  # noqa: F811
    codes, uid, mine, guest = gifts
    a, b = case_of(clean_url, mine), case_of(clean_url, guest)
    assert (a.status, a.amount, a.cause, b.amount) == ("open", 30_000, "cancelled", 20_000)
    assert aware_days(a.decide_by - a.created_at) == 30
    # Nothing moved yet: the money stays on the need until the donor decides.
    assert need(clean_url, codes["project"]).funded == 50_000
    subjects = sorted(m.subject for m in mails(outbox))
    assert subjects.count("请为您给“图书角”的捐款做出选择") == 2  # one mail each, once
    # Running the opening job again (a retry) asks nobody twice.
    assert tasks.open_gift_returns(need(clean_url, codes["project"]).id,
                                   database_url=clean_url) == 0
    assert len(mails(outbox)) == len(subjects)

    app = make_app(clean_url)
    home = _donor_client(app, uid).get("/account/").get_data(as_text=True)
    assert "2 条未读" in home and "请为您给“图书角”的捐款做出选择" in home
    assert "一米阳光 · 项目总基金" in home  # the published default, named


def aware_days(delta):
    return round(delta.total_seconds() / 86400)


def test_a_donor_redirects_to_another_need_from_their_account(clean_url, gifts):
    codes, uid, mine, _guest = gifts
    case = case_of(clean_url, mine)
    app = make_app(clean_url)
    donor = _donor_client(app, uid)
    page = donor.get(f"/account/returns/{case.id}").get_data(as_text=True)
    assert "助老餐桌" in page and "逾期未选择的" in page and "一米阳光 · 项目总基金" in page
    assert "一个新书包" not in page  # a ¥150 wish cannot take ¥300 whole

    response = donor.post(f"/account/returns/{case.id}", data={"target": f"need:{codes['other']}"})
    assert response.status_code == 303
    assert (need(clean_url, codes["project"]).funded, need(clean_url, codes["other"]).funded) \
        == (20_000, 30_000)
    [txn] = _txns(clean_url, "redirect")
    assert txn.ref == f"gift_return:{case.id}"
    assert case_of(clean_url, mine).status == "redirected"
    # The double submit is refused and moves nothing.
    again = donor.post(f"/account/returns/{case.id}", data={"target": f"need:{codes['other']}"})
    assert again.status_code == 409 and "这笔捐款已经处理过了" in again.get_data(as_text=True)
    assert len(_txns(clean_url, "redirect")) == 1
    _sound(clean_url)


def test_a_redirect_to_a_fund_raises_its_balance(clean_url, gifts):
    codes, uid, mine, _guest = gifts
    with unit_of_work(get_engine(clean_url)) as s:
        fund = fund_with(s, 10_000)
        fund_code = fund.code
    case = case_of(clean_url, mine)
    donor = _donor_client(make_app(clean_url), uid)
    assert donor.post(f"/account/returns/{case.id}",
                      data={"target": f"fund:{fund_code}"}).status_code == 303
    with unit_of_work(get_engine(clean_url)) as s:
        fund = s.exec(select(CommunityFund).where(CommunityFund.code == fund_code)).one()
        assert fund.balance == 40_000
        assert ledger.balance(s, f"fund:{fund_code}") == 40_000
    assert need(clean_url, codes["project"]).funded == 20_000
    _sound(clean_url)


def test_bad_choices_and_wrong_people_change_nothing(clean_url, gifts):
    codes, uid, mine, guest = gifts
    case, guest_case = case_of(clean_url, mine), case_of(clean_url, guest)
    app = make_app(clean_url)
    donor = _donor_client(app, uid)
    for target in ("need:W-999", "fund:F-999", "need:" + codes["project"], "", "nonsense"):
        response = donor.post(f"/account/returns/{case.id}", data={"target": target})
        assert response.status_code == 422, target
    # A whole wish refuses an amount that is not exactly its own.
    assert donor.post(f"/account/returns/{case.id}",
                      data={"target": f"need:{codes['wish']}"}).status_code == 422
    # Someone else's case is not found; the public is sent to sign in.
    assert donor.get(f"/account/returns/{guest_case.id}").status_code == 404
    other = _donor_client(app, make_user(clean_url, "other@example.cn", ("donor", {})))
    assert other.post(f"/account/returns/{case.id}",
                      data={"target": "refund"}).status_code == 404
    assert app.test_client().get(f"/account/returns/{case.id}").status_code == 302
    # A forged or altered link is not found.
    assert app.test_client().get("/returns/not-a-token").status_code == 404
    token = make_return_token("another key", guest_case.id)
    assert app.test_client().get(f"/returns/{token}").status_code == 404
    # Only platform staff see and record bank refunds.
    assert donor.get("/staff/refunds/").status_code == 403
    assert donor.post(f"/staff/refunds/{case.id}", data={"bank_ref": "x"}).status_code == 403
    assert _txns(clean_url, "redirect") == _txns(clean_url, "refund") == []
    assert case_of(clean_url, mine).status == case_of(clean_url, guest).status == "open"


def test_a_guest_asks_for_a_bank_refund_by_the_mailed_link_and_staff_record_it(
        clean_url, gifts, outbox):  # noqa: F811
    codes, _uid, _mine, guest = gifts
    case = case_of(clean_url, guest)
    app = make_app(clean_url)
    from core.mail import read_outbox

    [entry] = [m for m in mails(outbox) if m.to == "li@example.cn"
               and m.subject.startswith("请为您")]
    text = read_outbox(outbox, entry.name).get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"https?://\S+(/returns/\S+)", text).group(1)
    guest_client = app.test_client()
    page = guest_client.get(link)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "平台工作人员将通过银行转账退回" in html
    assert "li@example.cn" not in html and "李四" not in html  # the link shows no one's data
    assert guest_client.post(link, data={"target": "refund"}).status_code == 303
    assert case_of(clean_url, guest).status == "awaiting_refund"
    assert _txns(clean_url, "refund") == []  # no money has left yet
    assert guest_client.post(link, data={"target": "refund"}).status_code == 409

    staff = app.test_client()
    sign_in(staff, make_user(clean_url, "finance@example.cn", ("admin", {})))
    listing = staff.get("/staff/refunds/").get_data(as_text=True)
    assert "李四" in listing and "li@example.cn" in listing and "¥200.00" in listing
    assert staff.post(f"/staff/refunds/{case.id}", data={"bank_ref": "  "}).status_code == 400
    assert staff.post(f"/staff/refunds/{case.id}",
                      data={"bank_ref": "ICBC-20261201-0042"}).status_code == 303
    assert staff.post(f"/staff/refunds/{case.id}",
                      data={"bank_ref": "ICBC-20261201-0042"}).status_code == 400  # twice: no
    [txn] = _txns(clean_url, "refund")
    done = case_of(clean_url, guest)
    assert (done.status, done.refund_ref, done.ledger_seq) == ("refunded", "ICBC-20261201-0042",
                                                              txn.seq)
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(Donation, guest).status == "refunded"
    assert need(clean_url, codes["project"]).funded == 30_000
    _sound(clean_url)


@pytest.fixture
def fake_stripe(monkeypatch):
    server = FakeStripe()
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_shanlian")
    monkeypatch.setenv("STRIPE_API_BASE", server.url)
    yield server
    server.close()


def test_a_stripe_gift_is_refunded_through_the_gateway(clean_url, outbox, fake_stripe):  # noqa: F811
    codes = world(clean_url)
    uid = make_user(clean_url, "card@example.cn", ("donor", {}))
    gift = give(clean_url, codes["project"], 30_000, user_id=uid, gateway=FakeCheckout(),
                intent="pi_test_42")
    close(clean_url, codes["project"], "expired")
    case = case_of(clean_url, gift)
    donor = _donor_client(make_app(clean_url), uid)
    assert "原路退回" in donor.get(f"/account/returns/{case.id}").get_data(as_text=True)

    # Stripe refuses once: nothing moved, the donor may try again.
    fake_stripe.fail_next = 402
    refused = donor.post(f"/account/returns/{case.id}", data={"target": "refund"})
    assert refused.status_code == 422 and _txns(clean_url, "refund") == []
    assert case_of(clean_url, gift).status == "open"

    assert donor.post(f"/account/returns/{case.id}", data={"target": "refund"}).status_code == 303
    call = [r for r in fake_stripe.requests if r["path"] == "/v1/refunds"][-1]
    assert call["body"]["payment_intent"] == "pi_test_42" and call["body"]["amount"] == "30000"
    assert call["headers"]["Idempotency-Key"] == f"shanlian-gift-return-{case.id}"
    done = case_of(clean_url, gift)
    assert done.status == "refunded" and done.refund_ref.startswith("re_test_")
    assert len(_txns(clean_url, "refund")) == 1 and need(clean_url, codes["project"]).funded == 0
    assert donor.post(f"/account/returns/{case.id}", data={"target": "refund"}).status_code == 409
    assert len([r for r in fake_stripe.requests if r["path"] == "/v1/refunds"]) == 2
    _sound(clean_url)


def test_after_thirty_days_the_general_fund_default_applies(clean_url, gifts):
    codes, uid, mine, guest = gifts
    start = now()
    clock.set_now(start + timedelta(days=29, hours=23))
    assert tasks.apply_return_defaults(database_url=clean_url) == 0
    # The donor of the first gift decides in time; the guest does not.
    donor = _donor_client(make_app(clean_url), uid)
    assert donor.post(f"/account/returns/{case_of(clean_url, mine).id}",
                      data={"target": f"need:{codes['other']}"}).status_code == 303
    clock.set_now(start + timedelta(days=30, minutes=1))
    late = donor.get(f"/account/returns/{case_of(clean_url, mine).id}")
    assert late.status_code == 200
    assert tasks.apply_return_defaults(database_url=clean_url) == 1
    assert tasks.apply_return_defaults(database_url=clean_url) == 0  # once
    done = case_of(clean_url, guest)
    assert (done.status, done.choice) == ("defaulted", "default")
    with unit_of_work(get_engine(clean_url)) as s:
        fund = s.get(CommunityFund, done.target_fund_id)
        assert (fund.name, fund.balance) == ("一米阳光 · 项目总基金", 20_000)
    assert need(clean_url, codes["project"]).funded == 0
    _sound(clean_url)


def test_a_choice_after_the_deadline_is_refused(clean_url, gifts):
    _codes, uid, mine, _guest = gifts
    clock.set_now(now() + timedelta(days=31))
    donor = _donor_client(make_app(clean_url), uid)
    response = donor.post(f"/account/returns/{case_of(clean_url, mine).id}",
                          data={"target": "refund"})
    assert response.status_code == 422 and "选择期限已过" in response.get_data(as_text=True)
    assert case_of(clean_url, mine).status == "open"


def test_an_expired_deadline_and_a_rejection_after_money_both_open_decisions(clean_url, outbox):  # noqa: F811
    codes = world(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        project = s.exec(select(type(need(clean_url, codes["project"]))).where(
            type(need(clean_url, codes["project"])).code == codes["project"])).one()
        project.deadline = (now() - timedelta(days=1)).date()
    first = give(clean_url, codes["project"], 10_000)
    second = give(clean_url, codes["other"], 10_000)
    assert tasks.expire_needs(database_url=clean_url) == 1
    assert need(clean_url, codes["project"]).state == "expired"
    assert case_of(clean_url, first).cause == "expired"
    # An edited need goes back to the verifier, who rejects it: its money is returned too.
    from needs import services as needs

    with unit_of_work(get_engine(clean_url)) as s:
        other = s.exec(select(type(need(clean_url, codes["other"]))).where(
            type(need(clean_url, codes["other"])).code == codes["other"])).one()
        needs.move(s, other, "submitted")
        needs.reject(s, other, None, "材料不实")
    assert case_of(clean_url, second).cause == "rejected"


def test_fund_and_enterprise_money_goes_back_at_once(clean_url, outbox):  # noqa: F811
    from needs.funding import grant_from_fund
    from tests.integration.helpers import fund_manager

    codes = world(clean_url)
    with unit_of_work(get_engine(clean_url)) as s:
        fund = fund_with(s, 50_000)
        fund.need_kinds = ["project"]
        manager = fund_manager(s, fund)
        project = s.exec(select(type(need(clean_url, codes["project"]))).where(
            type(need(clean_url, codes["project"])).code == codes["project"])).one()
        grant_from_fund(s, fund, project, 20_000, actor_id=manager.id)
        fund_code = fund.code
    gift = give(clean_url, codes["project"], 10_000)
    close(clean_url, codes["project"])
    with unit_of_work(get_engine(clean_url)) as s:
        fund = s.exec(select(CommunityFund).where(CommunityFund.code == fund_code)).one()
        assert fund.balance == 50_000  # the grant came back
        assert s.exec(select(func.count()).select_from(GiftReturn)).one() == 1
    assert case_of(clean_url, gift).amount == 10_000
    assert need(clean_url, codes["project"]).funded == 10_000
    assert len(_txns(clean_url, "reversal")) == 1
    _sound(clean_url)


def test_a_guest_with_only_a_mobile_number_gets_no_notification(clean_url, outbox):  # noqa: F811
    codes = world(clean_url)
    gift = give(clean_url, codes["project"], 10_000, contact="13800138000")
    close(clean_url, codes["project"])
    assert case_of(clean_url, gift).status == "open"
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.exec(select(func.count()).select_from(Notification)).one() == 0
    assert mails(outbox) == []


def test_the_organisation_admin_cancels_a_need_and_its_donors_are_asked(clean_url, outbox):  # noqa: F811
    codes = world(clean_url)
    gift = give(clean_url, codes["project"], 10_000)
    org_id = need(clean_url, codes["project"]).organisation_id
    app = make_app(clean_url)
    staff = _donor_client(app, make_user(clean_url, "staff@example.cn",
                                         ("org_staff", {"organisation_id": org_id})))
    assert "取消需求" not in staff.get(f"/org/needs/{codes['project']}").get_data(as_text=True)
    assert staff.post(f"/org/needs/{codes['project']}/cancel",
                      data={"reason": "受助人已搬离"}).status_code == 403
    admin = _donor_client(app, make_user(clean_url, "orgadmin@example.cn",
                                         ("org_admin", {"organisation_id": org_id})))
    page = admin.get(f"/org/needs/{codes['project']}").get_data(as_text=True)
    assert "取消需求" in page
    assert admin.post(f"/org/needs/{codes['project']}/cancel",
                      data={"reason": " "}).status_code == 400
    assert need(clean_url, codes["project"]).state == "verified"
    assert admin.post(f"/org/needs/{codes['project']}/cancel",
                      data={"reason": "受助人已搬离"}).status_code == 303
    assert need(clean_url, codes["project"]).state == "cancelled"
    assert case_of(clean_url, gift).status == "open"


def test_a_stripe_refund_that_fails_later_puts_the_money_back_for_a_new_choice(
        clean_url, outbox, fake_stripe, monkeypatch):  # noqa: F811
    import json
    import time

    from tests.stripe_fake import WEBHOOK_SECRET, sign

    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    codes = world(clean_url)
    uid = make_user(clean_url, "card@example.cn", ("donor", {}))
    gift = give(clean_url, codes["project"], 30_000, user_id=uid, gateway=FakeCheckout(),
                intent="pi_test_43")
    close(clean_url, codes["project"])
    case = case_of(clean_url, gift)
    app = make_app(clean_url)
    donor = _donor_client(app, uid)
    assert donor.post(f"/account/returns/{case.id}", data={"target": "refund"}).status_code == 303
    refund_ref = case_of(clean_url, gift).refund_ref
    payload = json.dumps({"id": "evt_refund_failed", "object": "event", "type": "refund.failed",
                          "created": int(time.time()), "data": {"object": {
                              "id": refund_ref, "object": "refund", "amount": 30_000,
                              "currency": "cny", "status": "failed",
                              "payment_intent": "pi_test_43",
                              "metadata": {"gift_id": str(gift)}}}}).encode()
    for _ in range(2):  # delivered twice: undone once
        answer = app.test_client().post("/stripe/webhook", data=payload,
                                        content_type="application/json",
                                        headers={"Stripe-Signature": sign(payload)})
        assert answer.status_code == 200
    again = case_of(clean_url, gift)
    assert (again.status, again.refund_ref) == ("open", "")
    assert need(clean_url, codes["project"]).funded == 30_000
    assert len(_txns(clean_url, "reversal")) == 1
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(Donation, gift).status == "paid"
    # The donor chooses again, this time another need.
    assert donor.post(f"/account/returns/{case.id}",
                      data={"target": f"need:{codes['other']}"}).status_code == 303
    assert need(clean_url, codes["other"]).funded == 30_000
    _sound(clean_url)
