"""POST /stripe/webhook: tests build and sign Stripe events themselves. A replay changes
nothing, every order of one gift's events leaves the same ledger, a bad or stale signature
is a 400 that writes nothing."""
import hashlib
import hmac
import itertools
import json
import time
from datetime import UTC, datetime

import pytest
from sqlmodel import func, select

from core import clock
from core.db import get_engine, unit_of_work
from donors.gateway import PaymentStart, check_payment
from donors.giving import start_gift
from donors.giving_models import GiftPayment, PaymentEventRecord
from donors.models import Donation
from funds import ledger
from needs.models import Need
from tests.conftest import make_app, truncate_all
from tests.integration.helpers import org, verified_need

SECRET = "whsec_test_secret"
FROZEN = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


class FakeCheckout:
    """Stands in for Stripe Checkout when a gift starts (no network in tests)."""

    name = "stripe"

    def create_payment(self, payment):
        check_payment(payment)
        return PaymentStart(provider="stripe", provider_ref=f"cs_test_{payment.gift_id}",
                            amount=payment.amount, redirect_url="https://checkout.test/x")

    def refund(self, *args, **kwargs):
        raise AssertionError("not used")

    def parse_webhook(self, payload, headers):
        raise AssertionError("not used")


@pytest.fixture
def stripe_env(monkeypatch):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.delenv("STRIPE_SECRET_KEY", raising=False)


def _wish_gift(url) -> int:
    with unit_of_work(get_engine(url)) as s:
        need = verified_need(s, org(s), amount=15_000, title="一个新书包")
        started = start_gift(s, FakeCheckout(), need, None, name="张三", contact="z@example.cn",
                             return_url=lambda gift: f"http://test/gifts/{gift}")
        return started.donation.id


def _event(event_id, kind, obj, created=None):
    return {"id": event_id, "object": "event", "type": kind,
            "created": created or int(time.time()), "data": {"object": obj}}


def _events(gift: int, amount: int = 15_000) -> dict:
    meta = {"gift_id": str(gift)}
    return {
        "completed": _event("evt_completed", "checkout.session.completed", {
            "id": f"cs_test_{gift}", "object": "checkout.session", "payment_status": "paid",
            "amount_total": amount, "currency": "cny", "payment_intent": "pi_1",
            "metadata": meta, "client_reference_id": str(gift)}),
        "succeeded": _event("evt_succeeded", "payment_intent.succeeded", {
            "id": "pi_1", "object": "payment_intent", "amount": amount,
            "amount_received": amount, "currency": "cny", "metadata": meta}),
        "expired": _event("evt_expired", "checkout.session.expired", {
            "id": f"cs_test_{gift}", "object": "checkout.session", "payment_status": "unpaid",
            "amount_total": amount, "currency": "cny", "payment_intent": None,
            "metadata": meta}),
    }


def _sign(payload: bytes, secret=SECRET, at=None) -> str:
    at = int(time.time()) if at is None else at
    mac = hmac.new(secret.encode(), f"{at}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def _post(client, event, **sign):
    payload = json.dumps(event).encode()
    return client.post("/stripe/webhook", data=payload, content_type="application/json",
                       headers={"Stripe-Signature": _sign(payload, **sign)})


def _ledger_lines(url) -> list[str]:
    with unit_of_work(get_engine(url)) as s:
        assert ledger.verify(s).ok
        return list(ledger.export_lines(s))


def test_a_replayed_event_is_acted_on_once(clean_url, stripe_env):
    gift = _wish_gift(clean_url)
    client = make_app(clean_url).test_client()
    completed = _events(gift)["completed"]
    for _ in range(10):
        assert _post(client, completed).status_code == 200
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(Donation, gift).status == "paid"
        assert s.exec(select(Need)).one().funded == 15_000
        assert s.exec(select(func.count()).select_from(PaymentEventRecord)).one() == 1
    assert len(_ledger_lines(clean_url)) == 1


def test_every_order_of_a_gifts_events_leaves_the_same_ledger(clean_url, stripe_env):
    results = set()
    for order in itertools.permutations(["completed", "succeeded", "expired"]):
        truncate_all(clean_url)
        clock.set_now(FROZEN)
        gift = _wish_gift(clean_url)
        client = make_app(clean_url).test_client()
        events = _events(gift)
        for name in order:
            assert _post(client, events[name]).status_code == 200
        with unit_of_work(get_engine(clean_url)) as s:
            assert s.get(Donation, gift).status == "paid", order
            assert s.exec(select(Need)).one().hold_holder is None
        results.add(tuple(_without_donor_id(line) for line in _ledger_lines(clean_url)))
    assert len(results) == 1 and len(next(iter(results))) == 1


def _without_donor_id(line: str) -> str:
    """The donor's opaque ledger id is random per run (and so the hash): set it aside."""
    txn = json.loads(line)
    for posting in txn["postings"]:
        if posting["account"].startswith("donor:"):
            posting["account"] = "donor:*"
    txn.pop("hash")
    return json.dumps(txn, sort_keys=True, ensure_ascii=False)


def test_a_wrong_amount_is_recorded_not_credited(clean_url, stripe_env):
    gift = _wish_gift(clean_url)
    client = make_app(clean_url).test_client()
    assert _post(client, _events(gift, amount=100)["succeeded"]).status_code == 200
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.get(Donation, gift).status == "pending"
        assert s.exec(select(PaymentEventRecord)).one().outcome == "amount_mismatch"
    assert _ledger_lines(clean_url) == []


@pytest.mark.parametrize("how", ["bad secret", "stale", "missing", "tampered"])
def test_an_unauthentic_event_is_a_400_and_writes_nothing(clean_url, stripe_env, how):
    gift = _wish_gift(clean_url)
    client = make_app(clean_url).test_client()
    event = _events(gift)["completed"]
    payload = json.dumps(event).encode()
    headers = {"Stripe-Signature": _sign(payload)}
    if how == "bad secret":
        headers = {"Stripe-Signature": _sign(payload, secret="whsec_other")}
    elif how == "stale":
        headers = {"Stripe-Signature": _sign(payload, at=int(time.time()) - 3600)}
    elif how == "missing":
        headers = {}
    else:
        payload = payload.replace(b"15000", b"15001")
    response = client.post("/stripe/webhook", data=payload, content_type="application/json",
                           headers=headers)
    assert response.status_code == 400
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.exec(select(func.count()).select_from(PaymentEventRecord)).one() == 0
        assert s.get(Donation, gift).status == "pending"
        assert s.exec(select(GiftPayment)).one().status == "awaiting"


def test_an_expired_checkout_frees_the_wish(clean_url, stripe_env):
    gift = _wish_gift(clean_url)
    client = make_app(clean_url).test_client()
    assert _post(client, _events(gift)["expired"]).status_code == 200
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.exec(select(Need)).one().hold_holder is None
        assert s.exec(select(GiftPayment)).one().status == "expired"
    assert _ledger_lines(clean_url) == []
