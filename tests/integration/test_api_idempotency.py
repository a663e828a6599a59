"""Idempotency-Key on the API's POSTs, and the per-token rate limit: a retried request
creates one object (also when the two copies arrive at once, on PostgreSQL), the same key for
another request is a 422, and a token over its budget gets 429 with Retry-After."""
from __future__ import annotations

import io
import threading

import pytest
from sqlmodel import func, select

from core.db import get_engine, unit_of_work
from tests.conftest import require_postgres
from tests.integration.charity_helpers import organisation, staff
from tests.integration.test_api_tokens import (
    PROBLEM,
    bearer,
    make_token,
    png,
    verified_wish,
    wish,
)
from web.security import limiter


@pytest.fixture
def tokens(app, clean_url):
    org_id = organisation(clean_url, "滨州市慈善总会")
    admin = staff(clean_url, "admin@org.cn", org_id, role="org_admin")
    return {"one": make_token(app, admin, "organisation", org_id),
            "two": make_token(app, admin, "organisation", org_id, name="第二个系统")}


def needs_count(url) -> int:
    from needs.models import Need

    with unit_of_work(get_engine(url)) as s:
        return s.exec(select(func.count()).select_from(Need)).one()


def test_the_same_key_twice_creates_one_need_and_answers_the_first_response(app, clean_url,
                                                                              tokens):
    client = app.test_client()
    headers = {**bearer(tokens["one"]), "Idempotency-Key": "case-2026-0001"}
    first = client.post("/api/v1/me/needs", json=wish(), headers=headers)
    assert first.status_code == 201, first.get_data(as_text=True)
    # The same body with its keys in another order is the same request.
    again = client.post("/api/v1/me/needs", json=dict(reversed(list(wish().items()))),
                        headers=headers)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert needs_count(clean_url) == 1
    # Without a key, or with a new key, a second post is a second need.
    assert client.post("/api/v1/me/needs", json=wish(new_beneficiary=None,
                                                     beneficiary=first.get_json()["beneficiary"]),
                       headers=bearer(tokens["one"])).status_code == 201
    assert needs_count(clean_url) == 2


def test_the_same_key_for_another_request_is_a_422(app, clean_url, tokens):
    client = app.test_client()
    headers = {**bearer(tokens["one"]), "Idempotency-Key": "k-1"}
    assert client.post("/api/v1/me/needs", json=wish(), headers=headers).status_code == 201
    other = client.post("/api/v1/me/needs", json=wish(title="另一个心愿"), headers=headers)
    assert other.status_code == 422 and other.mimetype == PROBLEM
    assert other.get_json()["errors"][0]["field"] == "Idempotency-Key"
    assert needs_count(clean_url) == 1
    # Keys belong to a token: another token's k-1 is its own.
    mine = client.post("/api/v1/me/needs", json=wish(title="另一个心愿", new_beneficiary=None,
                                                     beneficiary="B-1"),
                       headers={**bearer(tokens["two"]), "Idempotency-Key": "k-1"})
    assert mine.status_code == 201
    assert needs_count(clean_url) == 2


def test_a_refused_request_leaves_its_key_free(app, clean_url, tokens):
    client = app.test_client()
    headers = {**bearer(tokens["one"]), "Idempotency-Key": "retry-me"}
    bad = client.post("/api/v1/me/needs", json=wish(price="abc"), headers=headers)
    assert bad.status_code == 400
    good = client.post("/api/v1/me/needs", json=wish(), headers=headers)
    assert good.status_code == 201 and needs_count(clean_url) == 1


def test_a_bad_key_is_named(app, tokens):
    answer = app.test_client().post("/api/v1/me/needs", json=wish(),
                                    headers={**bearer(tokens["one"]), "Idempotency-Key": ""})
    assert answer.status_code == 400
    assert answer.get_json()["errors"][0]["field"] == "Idempotency-Key"


def test_an_upload_retried_with_its_key_is_stored_once(app, clean_url, tokens, tmp_path):
    from needs.models import Evidence

    app.config["SHANLIAN"] = app.config["SHANLIAN"].__class__(
        **{**app.config["SHANLIAN"].__dict__, "upload_dir": tmp_path})
    client = app.test_client()
    code = verified_wish(client, clean_url, tokens["one"])
    headers = {**bearer(tokens["one"]), "Idempotency-Key": "photo-1"}
    answers = [client.post(f"/api/v1/me/needs/{code}/evidence", headers=headers,
                           data={"file": (io.BytesIO(png()), "p.png"), "caption": "到了"})
               for _ in range(2)]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].get_json() == answers[1].get_json()
    with unit_of_work(get_engine(clean_url)) as s:
        assert len(s.exec(select(Evidence)).all()) == 1


def test_an_expired_key_is_a_new_request(app, clean_url, tokens):
    from datetime import UTC, datetime, timedelta

    from core import clock

    client = app.test_client()
    headers = {**bearer(tokens["one"]), "Idempotency-Key": "daily"}
    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    clock.set_now(start)
    assert client.post("/api/v1/me/needs", json=wish(), headers=headers).status_code == 201
    clock.set_now(start + timedelta(hours=23))
    assert client.post("/api/v1/me/needs", json=wish(), headers=headers).headers.get(
        "Idempotent-Replayed") == "true"
    clock.set_now(start + timedelta(hours=25))
    body = wish(new_beneficiary=None, beneficiary="B-1")
    assert client.post("/api/v1/me/needs", json=body, headers=headers).status_code == 201
    assert needs_count(clean_url) == 2


def test_concurrent_duplicates_create_one_need_on_postgres(app, clean_url, tokens):
    require_postgres()
    assert clean_url.startswith("postgresql")
    copies = 6
    barrier = threading.Barrier(copies)
    answers: list = [None] * copies
    headers = {**bearer(tokens["one"]), "Idempotency-Key": "at-once"}

    def send(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        answers[i] = client.post("/api/v1/me/needs", json=wish(), headers=headers)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [201] * copies, [a.get_data() for a in answers]
    assert len({a.get_data() for a in answers}) == 1
    assert needs_count(clean_url) == 1


# ------------------------------------------------------------------- rate limits ---

def test_each_token_has_its_own_rate_limit(app, tokens):
    app.config["API_TOKEN_RATE_LIMIT"] = "3/minute"
    limiter.reset()
    try:
        client = app.test_client()
        codes = [client.get("/api/v1/me/needs", headers=bearer(tokens["one"])).status_code
                 for _ in range(3)]
        assert codes == [200, 200, 200]
        over = client.get("/api/v1/me/needs", headers=bearer(tokens["one"]))
        assert over.status_code == 429 and over.mimetype == PROBLEM
        assert int(over.headers["Retry-After"]) > 0
        # Another token and anonymous readers have their own budgets.
        assert client.get("/api/v1/me/needs", headers=bearer(tokens["two"])).status_code == 200
        assert client.get("/api/v1/needs").status_code == 200
        # An unknown token does not get a budget of its own: it counts against its address.
        assert client.get("/api/v1/me", headers=bearer("shl_" + "z" * 43)).status_code == 401
    finally:
        app.config.pop("API_TOKEN_RATE_LIMIT", None)
        limiter.reset()


def test_the_address_limit_still_holds_without_a_token(app):
    app.config["API_RATE_LIMIT"] = "2/minute"
    limiter.reset()
    try:
        client = app.test_client()
        assert [client.get("/api/v1/totals").status_code for _ in range(3)] == [200, 200, 429]
    finally:
        app.config.pop("API_RATE_LIMIT", None)
        limiter.reset()
