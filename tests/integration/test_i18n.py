"""The language switch, the English catalog, and pages rendered in English."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.po"


@pytest.mark.parametrize("code", ["zh_CN", "en"])
def test_switch_sets_cookie_and_goes_back(app, code):
    client = app.test_client()
    response = client.get(f"/lang/{code}", headers={"Referer": "http://localhost/needs?page=2"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/needs?page=2"
    cookie = client.get_cookie("lang")
    assert cookie is not None and cookie.value == code


def test_switch_follows_next_and_drops_a_stale_lang_argument(app):
    client = app.test_client()
    response = client.get("/lang/en?next=/needs%3Fpage%3D3%26lang%3Dzh_CN")
    assert response.headers["Location"] == "/needs?page=3"


@pytest.mark.parametrize("target", [
    "https://evil.example/phish", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
    "http://localhost.evil.example/", "/lang/en", "needs",
])
def test_switch_never_redirects_off_site(app, target):
    client = app.test_client()
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 303
    assert response.headers["Location"] == "/", target
    response = client.get("/lang/en", headers={"Referer": target})
    assert response.headers["Location"] == "/", target


def test_unknown_language_is_refused_and_changes_nothing(app):
    client = app.test_client()
    response = client.get("/lang/fr")
    assert response.status_code == 400
    assert "不支持的语言" in response.get_data(as_text=True)
    assert client.get_cookie("lang") is None
    client.set_cookie("lang", "en")
    response = client.get("/lang/xx")
    assert response.status_code == 400
    assert "unsupported language" in response.get_data(as_text=True)
    assert client.get_cookie("lang").value == "en"


def test_the_cookie_chooses_the_language_and_html_lang_follows(app):
    client = app.test_client()
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)
    client.get("/lang/en")
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page
    client.get("/lang/zh_CN")
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)
