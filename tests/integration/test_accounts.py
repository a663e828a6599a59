"""Sign-up, sign-in (rate-limited, locked after repeated failures), sign-out, CSRF, headers."""
from __future__ import annotations

import re
from datetime import timedelta

from core import clock
from core.db import get_engine, unit_of_work
from core.users import User
from tests.conftest import make_app
from tests.integration.auth import PASSWORD, make_user, sign_in


def _csrf(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_sign_up_then_sign_in_and_out(clean_url):
    app = make_app(clean_url)
    client = app.test_client()
    response = client.post("/account/sign-up", data={
        "name": "李华", "email": "LiHua@Example.cn", "password": PASSWORD})
    assert response.status_code == 303
    page = client.get("/account/").get_data(as_text=True)
    assert "李华" in page and "lihua@example.cn" in page and "个人捐赠者" in page
    with unit_of_work(get_engine(clean_url)) as s:
        stored = s.query(User).one().password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert client.post("/account/sign-out").status_code == 303
    assert client.get("/account/").status_code == 302  # to the sign-in page
    response = client.post("/account/sign-in", data={"email": "lihua@example.cn",
                                                     "password": PASSWORD})
    assert response.status_code == 303


def test_bad_sign_up_says_why_and_writes_nothing(clean_url):
    app = make_app(clean_url)
    client = app.test_client()
    for data, message in [({"name": "A", "email": "not-an-email", "password": PASSWORD},
                           "请输入有效的电子邮箱地址"),
                          ({"name": "A", "email": "a@b.cn", "password": "short"},
                           "密码至少需要 10 个字符")]:
        response = client.post("/account/sign-up", data=data)
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
    with unit_of_work(get_engine(clean_url)) as s:
        assert s.query(User).count() == 0
    make_user(clean_url, "taken@b.cn")
    response = client.post("/account/sign-up", data={"name": "B", "email": "taken@b.cn",
                                                     "password": PASSWORD})
    assert response.status_code == 422 and "该邮箱已注册" in response.get_data(as_text=True)


def test_repeated_failures_lock_the_account_even_for_the_right_password(clean_url):
    make_user(clean_url, "donor@b.cn")
    app = make_app(clean_url)
    app.config["RATELIMIT_ENABLED"] = False
    client = app.test_client()
    start = clock.now()
    with clock.frozen(start):
        for _ in range(5):
            response = client.post("/account/sign-in", data={"email": "donor@b.cn",
                                                             "password": "wrong password!"})
            assert response.status_code == 422
        response = client.post("/account/sign-in", data={"email": "donor@b.cn",
                                                         "password": PASSWORD})
        assert response.status_code == 422 and "暂时锁定" in response.get_data(as_text=True)
    with clock.frozen(start + timedelta(minutes=16)):
        response = client.post("/account/sign-in", data={"email": "donor@b.cn",
                                                         "password": PASSWORD})
        assert response.status_code == 303


def test_sign_in_is_rate_limited_per_address(clean_url):
    app = make_app(clean_url)
    client = app.test_client()
    codes = [client.post("/account/sign-in", data={"email": f"x{i}@b.cn", "password": "x"})
             .status_code for i in range(12)]
    assert codes[:10] == [422] * 10 and codes[10:] == [429, 429]


def test_wrong_language_message_and_unknown_email_look_the_same(clean_url):
    make_user(clean_url, "known@b.cn")
    client = make_app(clean_url).test_client()
    client.set_cookie("lang", "en")
    unknown = client.post("/account/sign-in", data={"email": "nobody@b.cn", "password": "x" * 12})
    wrong = client.post("/account/sign-in", data={"email": "known@b.cn", "password": "x" * 12})
    assert "Wrong email or password" in unknown.get_data(as_text=True)
    assert "Wrong email or password" in wrong.get_data(as_text=True)


def test_csrf_is_required_on_every_form(clean_url):
    user_id = make_user(clean_url, "donor@b.cn")
    app = make_app(clean_url)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    response = client.post("/account/sign-in", data={"email": "donor@b.cn", "password": PASSWORD})
    assert response.status_code == 400  # no token
    token = _csrf(client, "/account/sign-in")
    response = client.post("/account/sign-in", data={"email": "donor@b.cn", "password": PASSWORD,
                                                     "csrf_token": token})
    assert response.status_code == 303
    assert client.post("/account/sign-out").status_code == 400  # signed in, still no token
    sign_in(client, user_id)
    page = client.get("/account/").get_data(as_text=True)
    assert 'hx-headers=\'{"X-CSRFToken": "' in page  # htmx sends it as a header
    header = re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)
    assert client.post("/account/sign-out", headers={"X-CSRFToken": header}).status_code == 303


def test_security_headers_and_cookie_flags(clean_url):
    app = make_app(clean_url)
    client = app.test_client()
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    make_user(clean_url, "donor@b.cn")
    response = client.post("/account/sign-in", data={"email": "donor@b.cn", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    app.testing = False  # outside debug and tests the cookie is Secure too
    response = app.test_client().post("/account/sign-in", data={"email": "donor@b.cn",
                                                                 "password": PASSWORD})
    assert "Secure" in response.headers["Set-Cookie"]


def test_public_pages_stay_cached_for_visitors_without_a_session(clean_url):
    from web import page_cache

    app = make_app(clean_url)
    client = app.test_client()
    client.get("/needs")
    client.get("/needs")
    with app.app_context():
        assert page_cache.stats()["hits"] == 1
