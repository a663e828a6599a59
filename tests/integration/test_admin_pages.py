"""Admin pages: roles granted and revoked with their scope, the audit log filtered and
paged by keyset, the development outbox, and ids beyond 64 bits."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import Session, select

from core import clock
from core.audit import record
from core.db import get_engine, unit_of_work
from core.users import Membership
from tests.conftest import make_app
from tests.integration.auth import make_user, sign_in


def _admin_client(url):
    admin_id = make_user(url, "admin@b.cn", ("admin", {}), name="管理员")
    client = make_app(url).test_client()
    sign_in(client, admin_id)
    return admin_id, client


def _roles(url, user_id):
    with Session(get_engine(url)) as s:
        return sorted((m.role, m.region or m.organisation_id or m.fund_id or m.enterprise_id)
                      for m in s.exec(select(Membership).where(Membership.user_id == user_id)))


def test_an_admin_grants_a_verifier_a_region_and_revokes_it(clean_url):
    _admin_id, client = _admin_client(clean_url)
    user_id = make_user(clean_url, "v@b.cn")
    page = client.get(f"/admin/users/{user_id}").get_data(as_text=True)
    assert "山东省/滨州市/邹平市" in page  # the 省/市/县 picker
    response = client.post(f"/admin/users/{user_id}/grant",
                           data={"role": "verifier", "region": "山东省/滨州市"})
    assert response.status_code == 303
    assert _roles(clean_url, user_id) == [("verifier", "山东省/滨州市")]
    # Twice is still one role.
    client.post(f"/admin/users/{user_id}/grant", data={"role": "verifier",
                                                       "region": "山东省/滨州市"})
    assert _roles(clean_url, user_id) == [("verifier", "山东省/滨州市")]
    with Session(get_engine(clean_url)) as s:
        membership_id = s.exec(select(Membership.id).where(Membership.user_id == user_id)).one()
    assert client.post(f"/admin/users/{user_id}/memberships/{membership_id}/revoke"
                       ).status_code == 303
    assert _roles(clean_url, user_id) == []


def test_a_role_without_its_scope_or_with_a_wrong_one_is_refused(clean_url):
    _admin_id, client = _admin_client(clean_url)
    user_id = make_user(clean_url, "v@b.cn")
    missing = client.post(f"/admin/users/{user_id}/grant", data={"role": "verifier"})
    assert missing.status_code == 422 and "请为角色" in missing.get_data(as_text=True)
    unknown_region = client.post(f"/admin/users/{user_id}/grant",
                                 data={"role": "verifier", "region": "火星"})
    assert unknown_region.status_code == 422
    unknown_org = client.post(f"/admin/users/{user_id}/grant",
                              data={"role": "org_staff", "organisation_id": "99"})
    assert unknown_org.status_code == 422
    bad_role = client.post(f"/admin/users/{user_id}/grant", data={"role": "root"})
    assert bad_role.status_code == 422
    assert _roles(clean_url, user_id) == []


def test_an_admin_cannot_revoke_their_own_admin_role(clean_url):
    admin_id, client = _admin_client(clean_url)
    with Session(get_engine(clean_url)) as s:
        membership_id = s.exec(select(Membership.id).where(Membership.user_id == admin_id)).one()
    response = client.post(f"/admin/users/{admin_id}/memberships/{membership_id}/revoke")
    assert response.status_code == 409 and "不能撤销自己的管理员角色" in response.get_data(as_text=True)
    assert _roles(clean_url, admin_id) == [("admin", None)]
    # A membership of someone else named under this user's URL is a 404.
    other = make_user(clean_url, "o@b.cn", ("donor", {}))
    with Session(get_engine(clean_url)) as s:
        other_membership = s.exec(select(Membership.id).where(Membership.user_id == other)).one()
    assert client.post(f"/admin/users/{admin_id}/memberships/{other_membership}/revoke"
                       ).status_code == 404


def test_users_are_found_by_email_or_name(clean_url):
    _admin_id, client = _admin_client(clean_url)
    make_user(clean_url, "zhang.laoshi@b.cn", name="张老师")
    make_user(clean_url, "li@b.cn", name="李主任")
    page = client.get("/admin/users?q=张老").get_data(as_text=True)
    assert "zhang.laoshi@b.cn" in page and "li@b.cn" not in page
    assert "li@b.cn" in client.get("/admin/users?q=li@").get_data(as_text=True)
    assert client.get("/admin/users?q=%25").status_code == 200


def test_the_audit_log_filters_and_pages_by_keyset(clean_url):
    admin_id, client = _admin_client(clean_url)
    start = clock.now()
    with unit_of_work(get_engine(clean_url)) as s:
        for i in range(120):
            with clock.frozen(start - timedelta(days=120 - i)):
                record(s, "application.approve" if i % 2 else "need.verify",
                       f"organisation:{i % 3}", actor_id=admin_id if i % 4 == 0 else None)
    first = client.get("/admin/audit?action=application.").get_data(as_text=True)
    assert first.count("<td>application.approve</td>") == 50 and "<td>need.verify" not in first
    assert "before=" in first
    before = re.search(r"before=(\d+)", first).group(1)
    second = client.get(f"/admin/audit?action=application.&before={before}").get_data(as_text=True)
    assert second.count("<td>application.approve</td>") == 10 and "before=" not in second
    by_actor = client.get(f"/admin/audit?actor={admin_id}").get_data(as_text=True)
    assert by_actor.count("<td>need.verify</td>") == 30
    by_target = client.get("/admin/audit?target=organisation:1&action=need.verify")
    assert by_target.get_data(as_text=True).count("<td>organisation:1</td>") == 20
    day = (start - timedelta(days=10)).date().isoformat()
    dated = client.get(f"/admin/audit?since={day}&until={day}").get_data(as_text=True)
    assert dated.count("<td>organisation:") == 1
    assert client.get("/admin/audit?since=yesterday").status_code == 400
    assert client.get("/admin/audit?actor=99999999999999999999").status_code == 400


def test_the_development_outbox_is_for_admins_outside_debug(clean_url, tmp_path, monkeypatch):
    from core import mail
    monkeypatch.setattr(mail.MailSettings, "from_env",
                        classmethod(lambda cls, env=None: cls(outbox=tmp_path)))
    mail.send("zhang@b.cn", "善联：重设密码", "链接 https://shanlian.example/x")
    _admin_id, client = _admin_client(clean_url)
    listing = client.get("/dev/outbox/").get_data(as_text=True)
    assert "善联：重设密码" in listing
    [entry] = mail.list_outbox(tmp_path)
    assert "https://shanlian.example/x" in client.get(f"/dev/outbox/{entry.name}"
                                                      ).get_data(as_text=True)
    assert client.get("/dev/outbox/..%2Fsecret.eml").status_code == 404
    anonymous = make_app(clean_url).test_client()
    assert anonymous.get("/dev/outbox/").status_code == 302
    debug_app = make_app(clean_url)
    debug_app.debug = True
    assert debug_app.test_client().get("/dev/outbox/").status_code == 200


def test_ids_beyond_64_bits_are_a_404_not_a_500(clean_url):
    _admin_id, client = _admin_client(clean_url)
    for url in ("/disclosure/evidence/99999999999999999999",
                "/disclosure/evidence/9223372036854775808",
                "/disclosure/evidence/2147483648",
                "/admin/users/99999999999999999999",
                "/admin/applications/99999999999999999999"):
        assert client.get(url).status_code == 404, url
    assert client.get("/disclosure/evidence/2147483647").status_code == 404
    assert client.get("/admin/audit?before=99999999999999999999").status_code == 200
    assert client.get("/admin/users?after=99999999999999999999").status_code == 200


def test_new_pages_carry_the_security_headers_and_forms_their_csrf_token(clean_url):
    _admin_id, client = _admin_client(clean_url)
    app = client.application
    app.config["WTF_CSRF_ENABLED"] = True
    for url in ("/admin/applications", "/admin/audit", "/admin/users", "/onboarding/apply",
                "/account/reset"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        body = response.get_data(as_text=True)
        if "<form method=\"post\"" in body:
            assert 'name="csrf_token"' in body, url
    user_id = make_user(clean_url, "v@b.cn")
    refused = client.post(f"/admin/users/{user_id}/grant", data={"role": "donor"})
    assert refused.status_code == 400 and _roles(clean_url, user_id) == []
