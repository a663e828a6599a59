"""Password reset by a mailed, signed, expiring link, read from a real SMTP server."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from sqlmodel import Session, select

from core.accounts import _verify
from core.config import Settings
from core.db import get_engine
from core.tokens import RESET_MAX_AGE
from core.users import User
from tests.integration.auth import PASSWORD, make_user
from tests.integration.mailbox import inbox  # noqa: F401 — the fixture
from web import create_app

NEW = "a brand new password"


def _app(url):
    app = create_app(Settings(database_url=url, secret_key="test",
                              site_url="https://shanlian.example"))
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False, PAGE_CACHE_TTL=0)
    return app


def _request(client, email="zhang@b.cn", host="evil.example"):
    return client.post("/account/reset", data={"email": email},
                       headers={"Host": host})


def test_reset_mail_links_to_the_site_url_not_the_host_header(clean_url, inbox):  # noqa: F811
    make_user(clean_url, "zhang@b.cn", name="张老师")
    client = _app(clean_url).test_client()
    response = _request(client)
    assert response.status_code == 200 and "如果该邮箱已注册" in response.get_data(as_text=True)
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "zhang@b.cn" and "重设密码" in message["Subject"]
    link = inbox.link()
    assert link.startswith("https://shanlian.example/account/reset/")
    assert "evil.example" not in inbox.text()


def test_the_link_sets_a_new_password_once(clean_url, inbox):  # noqa: F811
    user_id = make_user(clean_url, "zhang@b.cn")
    client = _app(clean_url).test_client()
    _request(client)
    path = urlsplit(inbox.link()).path
    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": NEW})
    assert response.status_code == 303 and "reset=done" in response.headers["Location"]
    with Session(get_engine(clean_url)) as s:
        user = s.get(User, user_id)
    assert _verify(user.password_hash, NEW) and not _verify(user.password_hash, PASSWORD)
    # Used once: the same link now refuses, and changes nothing.
    again = client.post(path, data={"password": "yet another password"})
    assert again.status_code == 400 and "链接无效或已被使用" in again.get_data(as_text=True)
    ok = client.post("/account/sign-in", data={"email": "zhang@b.cn", "password": NEW})
    assert ok.status_code == 303


def test_an_expired_link_is_refused(clean_url, inbox, monkeypatch):  # noqa: F811
    user_id = make_user(clean_url, "zhang@b.cn")
    client = _app(clean_url).test_client()
    _request(client)
    path = urlsplit(inbox.link()).path
    # itsdangerous reads the wall clock: move it past the one-hour life of the link.
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + RESET_MAX_AGE + 60)
    response = client.post(path, data={"password": NEW})
    monkeypatch.undo()
    assert response.status_code == 400 and "链接已过期" in response.get_data(as_text=True)
    with Session(get_engine(clean_url)) as s:
        assert _verify(s.get(User, user_id).password_hash, PASSWORD)


def test_a_forged_link_and_a_short_password_are_refused(clean_url, inbox):  # noqa: F811
    make_user(clean_url, "zhang@b.cn")
    client = _app(clean_url).test_client()
    forged = client.post("/account/reset/not-a-token", data={"password": NEW})
    assert forged.status_code == 400
    _request(client)
    path = urlsplit(inbox.link()).path
    client.set_cookie("lang", "en")
    short = client.post(path, data={"password": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    with Session(get_engine(clean_url)) as s:
        assert _verify(s.exec(select(User)).one().password_hash, PASSWORD)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(clean_url, inbox):  # noqa: F811
    client = _app(clean_url).test_client()
    response = _request(client, email="nobody@b.cn")
    assert response.status_code == 200 and "如果该邮箱已注册" in response.get_data(as_text=True)
    assert inbox.messages == []
    assert _request(client, email="").status_code == 422


def test_a_reset_link_stops_working_after_a_later_password_change(clean_url, inbox):  # noqa: F811
    make_user(clean_url, "zhang@b.cn")
    client = _app(clean_url).test_client()
    _request(client)
    first = urlsplit(inbox.link()).path
    _request(client)
    second = urlsplit(inbox.link()).path
    assert client.post(second, data={"password": NEW}).status_code == 303
    assert client.post(first, data={"password": "other password 1"}).status_code == 400
