"""API tokens and the authenticated API (/api/v1/me/…): tokens made on the account page are
shown once and stored as a digest, scoped read or write, refused once revoked; the writes go
through the forms' services (a posted need is public only after verification); evidence is
checked by content; every refusal is problem+json naming the field."""
from __future__ import annotations

import hashlib
import io
import logging
import re

import pytest
from PIL import Image
from sqlmodel import select

from core.db import get_engine, unit_of_work
from tests.integration.auth import make_user, sign_in
from tests.integration.charity_helpers import BZ, id_number, organisation, staff, verifier

PROBLEM = "application/problem+json"
SECRET = re.compile(r"shl_[A-Za-z0-9_-]{43}")


def new_beneficiary(seed: int = 1, **overrides) -> dict:
    body = {"pseudonym": "小安", "full_name": "王小安", "id_number": id_number(seed),
            "region": BZ, "address": "齐明社区3号", "school": "齐明小学", "guardian": "王大山",
            "guardian_phone": "13800000000", "consent_by": "王大山",
            "consent_relation": "guardian", "consent_on": "2026-11-01", "allow_story": True}
    body.update(overrides)
    return body


def wish(**overrides) -> dict:
    body = {"title": "一个新书包", "item": "书包", "price": "150.50", "category": "助学",
            "region": BZ, "story": "小安上四年级，书包破了。",
            "new_beneficiary": new_beneficiary()}
    body.update(overrides)
    return body


def png(color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, format="PNG")
    return out.getvalue()


def make_token(app, user_id: int, kind: str, owner_id: int, scope: str = "write",
               name: str = "个案系统") -> str:
    """Through the account page, as a person would: the secret is on the answer, once."""
    client = app.test_client()
    sign_in(client, user_id)
    page = client.post(f"/account/api-tokens/{kind}/{owner_id}", data={"name": name,
                                                                       "scope": scope})
    assert page.status_code == 201, page.get_data(as_text=True)
    found = SECRET.findall(page.get_data(as_text=True))
    assert len(found) == 1
    return found[0]


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def world(app, clean_url):
    org_id = organisation(clean_url, "滨州市慈善总会")
    other_id = organisation(clean_url, "潍坊爱心协会")
    admin = staff(clean_url, "admin@org.cn", org_id, role="org_admin")
    other_admin = staff(clean_url, "admin@other.cn", other_id, role="org_admin")
    return {"app": app, "url": clean_url, "org": org_id, "other": other_id, "admin": admin,
            "other_admin": other_admin,
            "write": make_token(app, admin, "organisation", org_id, "write"),
            "read": make_token(app, admin, "organisation", org_id, "read", name="报表"),
            "other_write": make_token(app, other_admin, "organisation", other_id)}


def count(url, model) -> int:
    with unit_of_work(get_engine(url)) as s:
        return len(s.exec(select(model)).all())


# ------------------------------------------------------------------------ tokens ---

def test_a_token_is_shown_once_and_only_its_digest_is_stored(world, caplog):
    from core.api_tokens import ApiToken

    caplog.set_level(logging.DEBUG)
    app, secret = world["app"], world["write"]
    client = app.test_client()
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    with unit_of_work(get_engine(world["url"])) as s:
        rows = s.exec(select(ApiToken)).all()
        stored = [" ".join(str(getattr(r, c)) for c in ApiToken.model_fields) for r in rows]
        digests = {r.digest for r in rows}
        used = [r for r in rows if r.digest == hashlib.sha256(secret.encode()).hexdigest()]
    assert hashlib.sha256(secret.encode()).hexdigest() in digests
    assert not any(secret in row or secret[4:] in row for row in stored)
    assert used and used[0].last_used_at is not None
    assert secret not in caplog.text and secret[4:] not in caplog.text
    # The account page lists the token by its prefix, never the secret again.
    sign_in(client, world["admin"])
    page = client.get(f"/account/api-tokens/organisation/{world['org']}").get_data(as_text=True)
    assert used[0].prefix in page and not SECRET.search(page)


def test_only_an_organisation_admin_manages_its_tokens(world):
    app, url = world["app"], world["url"]
    member = staff(url, "staff@org.cn", world["org"])  # org_staff, not org_admin
    client = app.test_client()
    target = f"/account/api-tokens/organisation/{world['org']}"
    assert client.get(target).status_code == 302  # anonymous: sign in first
    sign_in(client, member)
    assert client.post(target, data={"name": "x", "scope": "write"}).status_code == 403
    sign_in(client, world["other_admin"])
    assert client.get(target).status_code == 403
    assert client.get("/account/api-tokens/organisation/99999").status_code == 404


def test_a_revoked_token_answers_401(world):
    from core.api_tokens import ApiToken

    app, secret = world["app"], world["write"]
    client = app.test_client()
    assert client.get("/api/v1/me/needs", headers=bearer(secret)).status_code == 200
    with unit_of_work(get_engine(world["url"])) as s:
        token = s.exec(select(ApiToken).where(ApiToken.digest == hashlib.sha256(
            secret.encode()).hexdigest())).one()
    sign_in(client, world["other_admin"])  # another organisation's admin cannot revoke it
    assert client.post(f"/account/api-tokens/organisation/{world['org']}/{token.id}/revoke"
                       ).status_code == 403
    sign_in(client, world["admin"])
    done = client.post(f"/account/api-tokens/organisation/{world['org']}/{token.id}/revoke")
    assert done.status_code == 303
    api = app.test_client()
    refused = api.post("/api/v1/me/needs", json=wish(), headers=bearer(secret))
    assert refused.status_code == 401 and refused.mimetype == PROBLEM
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert refused.get_json()["status"] == 401
    assert api.get("/api/v1/me", headers=bearer(world["read"])).status_code == 200  # others live
    for header in ({}, bearer("shl_" + "x" * 43), {"Authorization": "Basic abc"}):
        assert api.get("/api/v1/me/needs", headers=header).status_code == 401


def test_a_token_dies_with_its_makers_right_to_issue_it(world):
    from core import accounts
    from core.users import Membership

    with unit_of_work(get_engine(world["url"])) as s:
        for m in s.exec(select(Membership).where(Membership.user_id == world["admin"])).all():
            s.delete(m)
        accounts.grant(s, s.get(accounts.User, world["admin"]), "org_staff",
                       organisation_id=world["org"])
    client = world["app"].test_client()
    assert client.get("/api/v1/me", headers=bearer(world["write"])).status_code == 401


# -------------------------------------------------------------------- need posts ---

def test_a_posted_wish_is_public_only_after_verification(world):
    from needs.models import Beneficiary, Need
    from needs.verification import decide

    app, url = world["app"], world["url"]
    client = app.test_client()
    answer = client.post("/api/v1/me/needs", json=wish(submit=True), headers=bearer(world["write"]))
    assert answer.status_code == 201, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["state"] == "submitted" and body["amount"]["fen"] == 15050
    assert answer.headers["Location"] == f"/api/v1/me/needs/{body['code']}"
    text = answer.get_data(as_text=True)
    assert "王小安" not in text and id_number(1) not in text  # never answered back
    code = body["code"]
    assert client.get(f"/api/v1/needs/{code}").status_code == 404
    assert client.get(f"/needs/{code}").status_code == 404
    assert client.get(answer.headers["Location"], headers=bearer(world["read"])
                      ).get_json()["state"] == "submitted"
    checker = verifier(url, "v@bz.cn", "山东省/滨州市")
    with unit_of_work(get_engine(url)) as s:
        need = s.exec(select(Need).where(Need.code == code)).one()
        assert s.get(Beneficiary, need.beneficiary_id).organisation_id == world["org"]
        decide(s, need, checker, "verify")
    assert client.get(f"/api/v1/needs/{code}").status_code == 200


def test_a_beneficiary_then_a_wish_for_them(world):
    client = world["app"].test_client()
    made = client.post("/api/v1/me/beneficiaries", json=new_beneficiary(7),
                       headers=bearer(world["write"]))
    assert made.status_code == 201, made.get_data(as_text=True)
    person = made.get_json()
    assert set(person) == {"code", "pseudonym", "age_band", "region"}
    body = wish(beneficiary=person["code"])
    del body["new_beneficiary"]
    need = client.post("/api/v1/me/needs", json=body, headers=bearer(world["write"]))
    assert need.status_code == 201 and need.get_json()["state"] == "draft"
    assert need.get_json()["beneficiary"] == person["code"]
    submitted = client.post(f"/api/v1/me/needs/{need.get_json()['code']}/submit",
                            headers=bearer(world["write"]))
    assert submitted.status_code == 200 and submitted.get_json()["state"] == "submitted"
    # Another organisation cannot use this beneficiary.
    refused = client.post("/api/v1/me/needs", json=body, headers=bearer(world["other_write"]))
    assert refused.status_code == 422
    assert [e["field"] for e in refused.get_json()["errors"]] == ["beneficiary"]


def test_scope_and_organisation_are_checked(world):
    from needs.models import Need

    client = world["app"].test_client()
    read = client.post("/api/v1/me/needs", json=wish(), headers=bearer(world["read"]))
    assert read.status_code == 403 and read.mimetype == PROBLEM
    assert count(world["url"], Need) == 0
    assert client.get("/api/v1/me/needs", headers=bearer(world["read"])).status_code == 200
    code = client.post("/api/v1/me/needs", json=wish(), headers=bearer(world["write"])
                       ).get_json()["code"]
    other = bearer(world["other_write"])
    assert client.post(f"/api/v1/me/needs/{code}/submit", headers=other).status_code == 403
    assert client.get(f"/api/v1/me/needs/{code}", headers=other).status_code == 403
    assert client.post(f"/api/v1/me/needs/{code}/evidence", headers=other,
                       data={"file": (io.BytesIO(png()), "a.png")}).status_code == 403
    assert client.post("/api/v1/me/needs/W-999999/submit",
                       headers=bearer(world["write"])).status_code == 404
    # An organisation token has no enterprise's pledges.
    assert client.get("/api/v1/me/pledges", headers=bearer(world["write"])).status_code == 403
    mine = client.get("/api/v1/me/needs", headers=bearer(world["read"])).get_json()
    assert [n["code"] for n in mine["items"]] == [code]
    assert client.get("/api/v1/me/needs", headers=other).get_json()["items"] == []


@pytest.mark.parametrize(("change", "status", "fields"), [
    ({"title": None}, 400, ["title"]),
    ({"price": "十块"}, 400, ["price"]),
    ({"price": "-3"}, 400, ["price"]),
    ({"category": "杂项"}, 400, ["category"]),
    ({"new_beneficiary": new_beneficiary(id_number="37162620140506123")}, 422,
     ["new_beneficiary.id_number"]),
    ({"beneficiary": "B-999"}, 400, ["beneficiary", "new_beneficiary"]),
    ({"region": "火星"}, 422, ["region"]),
    ({"region": "山东省/滨州市/邹平市/不存在/齐明社区"}, 422, ["region"]),
    ({"new_beneficiary": new_beneficiary(consent_on="2099-01-01")}, 422,
     ["new_beneficiary.consent_on"]),
    ({"kind": "project"}, 400, ["kind"]),
    ({"surprise": 1}, 400, ["surprise"]),
])
def test_bad_input_names_the_field_and_changes_nothing(world, change, status, fields):
    from needs.models import Beneficiary, Need

    body = {k: v for k, v in {**wish(), **change}.items() if v is not None}
    answer = world["app"].test_client().post("/api/v1/me/needs", json=body,
                                             headers=bearer(world["write"]))
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.mimetype == PROBLEM
    assert [e["field"] for e in answer.get_json()["errors"]] == fields
    assert count(world["url"], Need) == 0 and count(world["url"], Beneficiary) == 0


def test_a_body_that_is_not_json_is_a_400(world):
    answer = world["app"].test_client().post(
        "/api/v1/me/needs", data=b"\xff{not json", content_type="application/json",
        headers=bearer(world["write"]))
    assert answer.status_code == 400 and answer.mimetype == PROBLEM
    assert {"title", "item"} <= {e["field"] for e in answer.get_json()["errors"]}


def test_refusals_speak_english_when_asked(world):
    answer = world["app"].test_client().post(
        "/api/v1/me/needs", json=wish(), headers={**bearer(world["read"]),
                                                  "Accept-Language": "en"})
    assert answer.status_code == 403
    assert re.search(r"[\u4e00-\u9fff]", answer.get_json()["detail"]) is None


# ---------------------------------------------------------------------- evidence ---

def verified_wish(client, url, secret, email="photo-verifier@bz.cn", seed=7) -> str:
    """Evidence goes to a verified need only, as on the organisation's page."""
    from needs.models import Need
    from needs.verification import decide

    body = wish(submit=True, new_beneficiary=new_beneficiary(seed, full_name=f"李小{seed}"))
    answer = client.post("/api/v1/me/needs", json=body, headers=bearer(secret))
    assert answer.status_code == 201, answer.get_data(as_text=True)
    code = answer.get_json()["code"]
    checker = verifier(url, email, "山东省/滨州市")
    with unit_of_work(get_engine(url)) as s:
        decide(s, s.exec(select(Need).where(Need.code == code)).one(), checker, "verify")
    return code


def test_evidence_follows_the_pages_rules(world, tmp_path):
    """Not before verification; a minor's face only under a consent allowing photos."""
    app = world["app"]
    app.config["SHANLIAN"] = app.config["SHANLIAN"].__class__(
        **{**app.config["SHANLIAN"].__dict__, "upload_dir": tmp_path})
    client = app.test_client()
    draft = client.post("/api/v1/me/needs", json=wish(), headers=bearer(world["write"])
                        ).get_json()["code"]
    early = client.post(f"/api/v1/me/needs/{draft}/evidence", headers=bearer(world["write"]),
                        data={"file": (io.BytesIO(png()), "a.png")})
    assert early.status_code == 422 and early.mimetype == PROBLEM
    code = verified_wish(client, world["url"], world["write"])
    face = client.post(f"/api/v1/me/needs/{code}/evidence", headers=bearer(world["write"]),
                       data={"file": (io.BytesIO(png()), "a.png"), "shows_face": "true"})
    assert face.status_code in (201, 422)
    from needs.evidence_upload import photo_allowed
    from needs.models import Need

    with unit_of_work(get_engine(world["url"])) as s:
        allowed = photo_allowed(s, s.exec(select(Need).where(Need.code == code)).one())
    assert face.status_code == (201 if allowed else 422)


def test_evidence_is_checked_by_content(world, tmp_path):
    from needs.models import Evidence

    app = world["app"]
    app.config["SHANLIAN"] = app.config["SHANLIAN"].__class__(
        **{**app.config["SHANLIAN"].__dict__, "upload_dir": tmp_path})
    client = app.test_client()
    code = verified_wish(client, world["url"], world["write"])
    target = f"/api/v1/me/needs/{code}/evidence"

    def send(data: bytes, name: str, **extra):
        return client.post(target, headers=bearer(world["write"]),
                           data={"file": (io.BytesIO(data), name), **extra})

    ok = send(png(), "photo.png", caption="书包已送到")
    assert ok.status_code == 201, ok.get_data(as_text=True)
    assert ok.get_json()["content_type"] == "image/png"
    assert ok.get_json()["caption"] == "书包已送到"
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
    jpeg_named_png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(jpeg_named_png, format="JPEG")
    for data, name in ((pdf, "invoice.pdf"), (jpeg_named_png.getvalue(), "x.png"),
                       (b"hello", "notes.txt"), (png()[:40], "cut.png")):
        refused = send(data, name)
        assert refused.status_code == 422, (name, refused.get_data(as_text=True))
        assert refused.mimetype == PROBLEM and refused.get_json()["errors"][0]["field"] == "file"
    missing = client.post(target, headers=bearer(world["write"]), data={"caption": "x"})
    assert missing.status_code == 400 and missing.get_json()["errors"][0]["field"] == "file"
    read = client.post(target, headers=bearer(world["read"]),
                       data={"file": (io.BytesIO(png()), "a.png")})
    assert read.status_code == 403
    assert count(world["url"], Evidence) == 1


# ------------------------------------------------------------------- enterprises ---

def test_an_enterprise_token_reads_its_pledges_and_report(app, clean_url):
    from core.money import Money
    from donors import services as donors

    with unit_of_work(get_engine(clean_url)) as s:
        firm = donors.create_enterprise(s, "鲁北爱心实业", "山东省/滨州市")
        other = donors.create_enterprise(s, "别家企业", "山东省/滨州市")
        donors.create_pledge(s, firm, Money.yuan(50_000), title="助学认捐")
        firm_id, other_id = firm.id, other.id
    reviewer = make_user(clean_url, "r@firm.cn", ("enterprise_reviewer", {"enterprise_id": firm_id}))
    outsider = make_user(clean_url, "r@other.cn",
                         ("enterprise_reviewer", {"enterprise_id": other_id}))
    staffer = make_user(clean_url, "s@firm.cn", ("enterprise_staff", {"enterprise_id": firm_id}))
    secret = make_token(app, reviewer, "enterprise", firm_id, "read")
    other_secret = make_token(app, outsider, "enterprise", other_id, "read")
    client = app.test_client()
    sign_in(client, staffer)
    assert client.get(f"/account/api-tokens/enterprise/{firm_id}").status_code == 403
    pledges = client.get("/api/v1/me/pledges", headers=bearer(secret)).get_json()["items"]
    assert [(p["title"], p["budget"]["fen"]) for p in pledges] == [("助学认捐", 5_000_000)]
    assert client.get("/api/v1/me/pledges", headers=bearer(other_secret)).get_json()["items"] == []
    report = client.get("/api/v1/me/report", headers=bearer(secret))
    assert report.status_code == 200 and report.get_json()["budget"]["fen"] == 5_000_000
    assert report.headers["Cache-Control"] == "private, no-store" and "ETag" not in report.headers
    assert client.get("/api/v1/me/proposals", headers=bearer(secret)).get_json() == {
        "items": [], "next": None}
    me = client.get("/api/v1/me", headers=bearer(secret)).get_json()
    assert me["owner"] == {"kind": "enterprise", "id": firm_id, "name": "鲁北爱心实业"}
    assert client.post("/api/v1/me/needs", json=wish(), headers=bearer(secret)).status_code == 403


# -------------------------------------------------------------------------- CSRF ---

def test_csrf_is_kept_for_cookies_and_not_needed_with_a_token(world):
    from needs.models import Need

    app = world["app"]
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        cookie = app.test_client()
        sign_in(cookie, world["admin"])
        assert cookie.post("/api/v1/me/needs", json=wish()).status_code == 400  # no CSRF token
        assert count(world["url"], Need) == 0
        token = app.test_client().post("/api/v1/me/needs", json=wish(),
                                       headers=bearer(world["write"]))
        assert token.status_code == 201
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_read_with_a_token_moves_no_data_version(world):
    from core.data_version import data_version

    with unit_of_work(get_engine(world["url"])) as s:
        before = data_version(s)
    client = world["app"].test_client()
    for _ in range(3):
        assert client.get("/api/v1/me/needs", headers=bearer(world["read"])).status_code == 200
    with unit_of_work(get_engine(world["url"])) as s:
        assert data_version(s) == before


# ------------------------------------------------------------------ keyset pages ---

def test_own_needs_walk_in_keyset_pages_and_a_new_need_does_not_shift_them(world):
    from needs.models import Need

    client = world["app"].test_client()
    auth = bearer(world["write"])
    made = client.post("/api/v1/me/needs", json=wish(title="书包0"), headers=auth)
    assert made.status_code == 201, made.get_json()
    child = made.get_json()["beneficiary"]

    def another(title: str) -> dict:
        body = wish(title=title, beneficiary=child)
        del body["new_beneficiary"]
        return body
    for i in range(1, 5):
        answer = client.post("/api/v1/me/needs", json=another(f"书包{i}"), headers=auth)
        assert answer.status_code == 201, answer.get_json()
    first = client.get("/api/v1/me/needs?limit=2", headers=auth).get_json()
    assert first["total"] == 5 and len(first["items"]) == 2
    # Posted meanwhile: newest first, so it would push page 1's rows onto page 2.
    assert client.post("/api/v1/me/needs", json=another("新书包"), headers=auth
                       ).status_code == 201
    codes, url = [n["code"] for n in first["items"]], first["next"]
    while url:
        assert "limit=2" in url
        page = client.get(url, headers=auth).get_json()
        codes += [n["code"] for n in page["items"]]
        url = page["next"]
    with unit_of_work(get_engine(world["url"])) as s:
        made = s.exec(select(Need.code).where(Need.organisation_id == world["org"])
                      .order_by(Need.id.desc())).all()
    assert codes == made[1:]  # the five, newest first, each once; the newcomer not slipped in
    bad = client.get(f"/api/v1/me/needs?cursor={first['next'].split('cursor=')[1][:-4]}",
                     headers=auth)
    assert bad.status_code == 400 and bad.get_json()["errors"][0]["field"] == "cursor"
    # A cursor of another list is refused, even though we signed it.
    mine = first["next"].split("cursor=")[1]
    other_list = client.get(f"/api/v1/funds?cursor={mine}")
    assert other_list.status_code == 400 and other_list.get_json()["errors"][0]["field"] == "cursor"
