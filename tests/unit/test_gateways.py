"""The payment gateways: Stripe through the real `stripe` package against a local fake of its
HTTP API, webhooks signed here, and bank transfer with its check character."""
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import clock
from donors.bank_transfer import (
    ALPHABET,
    BadReference,
    BankTransferGateway,
    find_references,
    new_reference,
    normalise_reference,
)
from donors.gateway import (
    BankAccount,
    EventKind,
    GatewayError,
    GiftPayment,
    PaymentGateway,
    RefundStatus,
    WebhookRejected,
    gateway_from_env,
)
from donors.stripe_gateway import StripeGateway, payment_methods
from tests.stripe_fake import WEBHOOK_SECRET, FakeStripe, event, sign

GIFT = GiftPayment(gift_id=481, amount=15000, description="微心愿 W-12 一个新书包",
                   success_url="https://shanlian.example/gifts/481/thanks",
                   cancel_url="https://shanlian.example/needs/W-12")
ACCOUNT = BankAccount("滨州市慈善总会", "中国工商银行滨州分行", "1613 0000 0000 0000 123")


@pytest.fixture
def fake():
    server = FakeStripe()
    yield server
    server.close()


def _stripe(fake, methods=("card",)) -> StripeGateway:
    return StripeGateway("sk_test_shanlian", WEBHOOK_SECRET, methods=methods, api_base=fake.url,
                         max_network_retries=0)


# -- Stripe: Checkout and refunds over HTTP ----------------------------------------------

def test_checkout_session_in_cny_with_gift_metadata_and_idempotency_key(fake):
    gateway = _stripe(fake, methods=("card", "alipay", "wechat_pay"))
    assert isinstance(gateway, PaymentGateway)
    start = gateway.create_payment(GIFT)
    assert start.provider == "stripe" and start.provider_ref == "cs_test_1"
    assert start.redirect_url == "https://checkout.stripe.test/c/pay/cs_test_1"
    (request,) = fake.requests
    body = request["body"]
    assert request["path"] == "/v1/checkout/sessions"
    assert body["mode"] == "payment"
    assert body["payment_method_types"] == ["card", "alipay", "wechat_pay"]
    assert body["payment_method_options"] == {"wechat_pay": {"client": "web"}}
    price = body["line_items"][0]["price_data"]
    assert price["currency"] == "cny" and price["unit_amount"] == "15000"
    assert body["metadata"] == {"gift_id": "481"}
    assert body["payment_intent_data"]["metadata"] == {"gift_id": "481"}
    assert request["headers"]["Idempotency-Key"] == "shanlian-gift-481-checkout-1"


def test_retrying_the_same_attempt_reuses_the_session_and_a_new_attempt_gets_a_new_one(fake):
    gateway = _stripe(fake)
    first = gateway.create_payment(GIFT)
    again = gateway.create_payment(GIFT)
    assert again.provider_ref == first.provider_ref
    retry = gateway.create_payment(GiftPayment(**{**GIFT.__dict__, "attempt": 2}))
    assert retry.provider_ref != first.provider_ref


def test_from_env_reads_methods_and_api_base(fake):
    gateway = StripeGateway.from_env({"STRIPE_SECRET_KEY": "sk_test_env", "STRIPE_API_BASE": fake.url,
                                      "STRIPE_PAYMENT_METHODS": "alipay,card",
                                      "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET})
    gateway.create_payment(GIFT)
    (request,) = fake.requests
    assert request["headers"]["Authorization"] == "Bearer sk_test_env"
    assert request["body"]["payment_method_types"] == ["alipay", "card"]
    assert "payment_method_options" not in request["body"]


def test_card_only_by_default_and_unknown_methods_refused():
    assert payment_methods(None) == ["card"]
    assert payment_methods(" alipay , card,alipay") == ["alipay", "card"]
    with pytest.raises(ValueError, match="paypal"):
        payment_methods("card,paypal")


def test_session_expiry_is_kept_within_what_stripe_allows(fake):
    with clock.frozen(datetime(2026, 12, 1, 10, 0, tzinfo=UTC)) as start:
        hold = GiftPayment(**{**GIFT.__dict__, "expires_at": start + timedelta(minutes=15)})
        _stripe(fake).create_payment(hold)
        expires = datetime.fromtimestamp(int(fake.requests[-1]["body"]["expires_at"]), UTC)
        assert timedelta(minutes=30) < expires - start <= timedelta(minutes=32)


@pytest.mark.parametrize("amount", [99, 0, -100, 150.0, True])
def test_amounts_below_one_yuan_or_not_integer_fen_never_reach_stripe(fake, amount):
    with pytest.raises(GatewayError):
        _stripe(fake).create_payment(GiftPayment(**{**GIFT.__dict__, "amount": amount}))
    assert fake.requests == []


def test_a_refusal_from_stripe_is_a_readable_gateway_error(fake):
    fake.fail_next = 402
    with pytest.raises(GatewayError) as caught:
        _stripe(fake).create_payment(GIFT)
    assert "稍后再试" in caught.value.message("zh_CN")


def test_full_and_partial_refunds(fake):
    gateway = _stripe(fake)
    full = gateway.refund("pi_1", None, gift_id=481, idempotency_key="refund-481-1")
    part = gateway.refund("pi_1", 5000, gift_id=481, idempotency_key="refund-481-2")
    assert full.status == RefundStatus.SUCCEEDED and full.refund_ref
    assert part.amount == 5000
    full_body, part_body = (r["body"] for r in fake.requests)
    assert "amount" not in full_body and part_body["amount"] == "5000"
    assert part_body["payment_intent"] == "pi_1" and part_body["metadata"] == {"gift_id": "481"}
    assert [r["headers"]["Idempotency-Key"] for r in fake.requests] == ["refund-481-1",
                                                                        "refund-481-2"]
    with pytest.raises(ValueError):
        gateway.refund("pi_1", 0, gift_id=481, idempotency_key="refund-481-3")


# -- Stripe: webhooks --------------------------------------------------------------------

SESSION = {"id": "cs_test_1", "object": "checkout.session", "payment_intent": "pi_1",
           "payment_status": "paid", "amount_total": 15000, "currency": "cny",
           "metadata": {"gift_id": "481"}, "client_reference_id": "481"}


def _parse(payload: bytes, header: str | None = None, secret=WEBHOOK_SECRET):
    gateway = StripeGateway("sk_test_shanlian", secret, api_base="http://127.0.0.1:5099")
    headers = {"stripe-signature": header if header is not None else sign(payload)}
    return gateway.parse_webhook(payload, headers)


def test_completed_checkout_is_paid_with_gift_and_payment_intent():
    paid = _parse(event("checkout.session.completed", SESSION, "evt_a"))
    assert (paid.event_id, paid.kind, paid.gift_id, paid.payment_ref, paid.amount, paid.currency) \
        == ("evt_a", EventKind.PAID, 481, "pi_1", 15000, "cny")


def test_an_unpaid_completed_session_is_only_pending():
    unpaid = _parse(event("checkout.session.completed", {**SESSION, "payment_status": "unpaid"}))
    assert unpaid.kind == EventKind.PENDING


@pytest.mark.parametrize("event_type, obj, expected", [
    ("payment_intent.succeeded", {"id": "pi_1", "object": "payment_intent", "amount": 15000,
                                  "amount_received": 15000, "currency": "cny",
                                  "metadata": {"gift_id": "481"}},
     dict(kind=EventKind.PAID, payment_ref="pi_1", amount=15000)),
    ("checkout.session.expired", {**SESSION, "payment_status": "unpaid", "payment_intent": None},
     dict(kind=EventKind.EXPIRED, payment_ref=None, session_ref="cs_test_1")),
    ("charge.refunded", {"id": "ch_1", "object": "charge", "payment_intent": "pi_1",
                         "amount": 15000, "amount_refunded": 5000, "refunded": False,
                         "currency": "cny", "metadata": {"gift_id": "481"}},
     dict(kind=EventKind.REFUNDED, amount=5000, fully_refunded=False)),
    ("refund.updated", {"id": "re_1", "object": "refund", "payment_intent": "pi_1",
                        "amount": 5000, "status": "failed", "currency": "cny",
                        "metadata": {"gift_id": "481"}},
     dict(kind=EventKind.REFUND_UPDATED, refund_ref="re_1", refund_status=RefundStatus.FAILED)),
    ("charge.refund.updated", {"id": "re_2", "object": "refund",
                               "payment_intent": {"id": "pi_1"}, "amount": 100,
                               "status": "succeeded", "currency": "cny", "metadata": {}},
     dict(kind=EventKind.REFUND_UPDATED, payment_ref="pi_1", gift_id=None,
          refund_status=RefundStatus.SUCCEEDED)),
    ("customer.created", {"id": "cus_1", "object": "customer"},
     dict(kind=EventKind.IGNORED, gift_id=None)),
])
def test_each_event_type_is_normalised(event_type, obj, expected):
    parsed = _parse(event(event_type, obj))
    assert parsed.source_type == event_type
    assert {key: getattr(parsed, key) for key in expected} == expected


def test_wrong_secret_tampered_body_stale_timestamp_and_missing_header_are_refused():
    payload = event("checkout.session.completed", SESSION)
    with pytest.raises(WebhookRejected):
        _parse(payload, sign(payload, secret="whsec_someone_else"))
    with pytest.raises(WebhookRejected):
        _parse(payload.replace(b"15000", b"1"), sign(payload))
    with pytest.raises(WebhookRejected):
        _parse(payload, sign(payload, timestamp=int(time.time()) - 301))
    with pytest.raises(WebhookRejected):
        _parse(payload, "")
    with pytest.raises(WebhookRejected):
        _parse(payload, secret=None)


def test_a_signed_but_malformed_event_is_refused():
    for payload in (b"not json", b'{"id": "evt_1"}', b'{"id":"e","type":"x","data":{}}'):
        with pytest.raises(WebhookRejected):
            _parse(payload)


def test_a_fresh_signature_within_tolerance_is_accepted():
    payload = event("checkout.session.completed", SESSION)
    assert _parse(payload, sign(payload, timestamp=int(time.time()) - 200)).kind == EventKind.PAID


# -- Bank transfer ---------------------------------------------------------------------

def test_bank_transfer_gives_a_reference_and_the_account():
    gateway = BankTransferGateway(ACCOUNT)
    assert isinstance(gateway, PaymentGateway)
    start = gateway.create_payment(GIFT)
    assert start.provider == "bank_transfer" and start.account == ACCOUNT
    assert start.reference == start.provider_ref == normalise_reference(start.reference)
    refund = gateway.refund(start.reference, None, gift_id=481, idempotency_key="k")
    assert refund.status == RefundStatus.MANUAL
    with pytest.raises(WebhookRejected):
        gateway.parse_webhook(b"{}", {})


def test_reference_codes_skip_taken_ones():
    taken = {new_reference() for _ in range(3)}
    seen = []

    def is_taken(code):
        seen.append(code)
        return len(seen) < 3  # the first two "clash"

    code = new_reference(is_taken)
    assert len(seen) == 3 and code == seen[-1] and code not in taken
    with pytest.raises(RuntimeError):
        new_reference(lambda code: True)


def test_gateway_from_env_prefers_stripe_only_with_a_key():
    bank = {"BANK_ACCOUNT_NAME": "滨州市慈善总会", "BANK_NAME": "工行滨州分行",
            "BANK_ACCOUNT_NUMBER": "1613000"}
    assert gateway_from_env(bank).name == "bank_transfer"
    assert gateway_from_env({**bank, "STRIPE_SECRET_KEY": "sk_test_x"}).name == "stripe"
    with pytest.raises(ValueError, match="BANK_ACCOUNT_NUMBER"):
        gateway_from_env({"BANK_ACCOUNT_NAME": "x", "BANK_NAME": "y"})


codes = st.builds(lambda _: new_reference(), st.integers())


@given(codes)
def test_codes_survive_the_ways_people_type_them(code):
    body = code.replace("-", "")
    for typed in (code, code.lower(), body, " ".join(body), body[:6] + "-" + body[6:]):
        assert normalise_reference(typed) == code
    # Crockford: an O typed for 0 or an I/L for 1 still means the same code.
    assert normalise_reference("SL" + body[2:].replace("0", "O").replace("1", "l")) == code


@given(codes, st.integers(min_value=2, max_value=9), st.sampled_from(ALPHABET))
def test_any_single_typo_is_caught(code, position, replacement):
    body = code.replace("-", "")
    if body[position] == replacement:
        return
    with pytest.raises(BadReference):
        normalise_reference(body[:position] + replacement + body[position + 1:])


@given(codes, st.integers(min_value=2, max_value=8))
def test_swapping_two_neighbours_is_caught(code, position):
    body = code.replace("-", "")
    if body[position] == body[position + 1]:
        return
    swapped = body[:position] + body[position + 1] + body[position] + body[position + 2:]
    with pytest.raises(BadReference):
        normalise_reference(swapped)


@given(codes, codes)
def test_codes_are_found_inside_memo_text(first, second):
    memo = f"捐款 {first.lower().replace('-', ' ')}，张三；另 {second.replace('-', '')}号"
    assert find_references(memo) == list(dict.fromkeys([first, second]))


def test_codes_never_contain_z_so_every_neighbour_swap_is_caught():
    """Luhn mod 32's one blind spot is swapping 0 and Z; codes are drawn without Z."""
    assert not any("Z" in new_reference() for _ in range(2000))


def test_memo_text_with_a_mistyped_code_finds_nothing():
    code = new_reference()
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert find_references(f"转账 {wrong} 张三") == []
    assert find_references("无参考码 李四 150元") == []
