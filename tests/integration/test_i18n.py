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


def _catalog():
    from babel.messages.pofile import read_po

    with PO.open("rb") as fh:
        return read_po(fh, locale="en")


def test_every_msgid_has_an_english_translation():
    catalog = _catalog()
    ids = [m for m in catalog if m.id]
    assert len(ids) > 50
    empty = [m.id for m in ids if not (m.string if isinstance(m.id, str) else all(m.string))]
    assert not empty, f"untranslated: {empty}"
    fuzzy = [m.id for m in ids if m.fuzzy]
    assert not fuzzy, f"fuzzy (needs review): {fuzzy}"
    chinese = [m.id for m in ids if any("\u4e00" <= c <= "\u9fff" for c in
                                        (m.string if isinstance(m.string, str) else "".join(m.string)))
               and m.id not in ("善联 Shanlian",)]
    assert not chinese, f"still Chinese in English: {chinese}"


def test_catalog_covers_every_string_in_the_code(tmp_path):
    """Strings added to templates or code since the last extraction would stay Chinese."""
    from babel.messages.frontend import CommandLineInterface
    from babel.messages.pofile import read_po

    from core.errors import EXTRACT_KEYWORDS

    out = tmp_path / "messages.pot"
    keywords = [arg for k in ("_l", "lazy_gettext", "_w:1c,2", *EXTRACT_KEYWORDS) for arg in ("-k", k)]
    CommandLineInterface().run(["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"),
                                *keywords, "-o", str(out), str(ROOT)])
    with out.open("rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    have = {m.id for m in _catalog() if m.id}
    missing = wanted - have
    assert not missing, f"not in the English catalog (re-extract, see babel.cfg): {missing}"


@pytest.fixture
def english_app(tmp_path, demo_url):
    """The demo app with the catalog compiled now (as `make translations` does)."""
    import shutil

    from babel.messages.mofile import write_mo

    from tests.conftest import make_app

    target = tmp_path / "translations"
    shutil.copytree(PO.parents[2], target)
    with (target / "en" / "LC_MESSAGES" / "messages.mo").open("wb") as fh:
        write_mo(fh, _catalog())
    app = make_app(demo_url)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(target)
    return app


@pytest.mark.parametrize("url", ["/", "/needs"])
def test_pages_render_in_english(english_app, url):
    client = english_app.test_client()
    zh = client.get(url).get_data(as_text=True)
    assert '<html lang="zh-CN">' in zh and "跳到正文" in zh and "需求与项目" in zh
    en = client.get(url + "?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in en
    assert "Skip to content" in en and "Needs and projects" in en and "Public ledger" in en
    assert "跳到正文" not in en and "需求与项目" not in en
    assert 'hreflang="zh-CN"' in en  # the switch offers the other language


@pytest.mark.parametrize("locale,expected", [
    ("zh_CN", "该心愿须一次全额认领（¥150.00）"),
    ("en", "this wish must be funded whole (¥150.00)"),
])
def test_a_refusal_is_rendered_per_locale_with_amounts_in_yuan(locale, expected):
    from core.errors import UserError
    from core.money import Money

    error = UserError("该心愿须一次全额认领（%(amount)s）", amount=Money.fen(15_000))
    assert error.message(locale) == expected
    assert "15000" not in error.message(locale) and "分" not in error.message(locale)


def test_a_refused_donation_says_so_in_english_on_the_page(english_app):
    """Through the request: Flask-Babel renders the refusal in the visitor's language."""
    from core.errors import UserError
    from core.money import Money
    from web.permissions import public

    @english_app.get("/scratch/refuse")
    @public
    def refuse():
        raise UserError("金额超过尚需金额（%(open)s）", open=Money.fen(12_345))

    client = english_app.test_client()
    client.set_cookie("lang", "en")
    response = client.get("/scratch/refuse")
    assert response.status_code == 400
    assert "more than is still open (¥123.45)" in response.get_data(as_text=True)
    client.set_cookie("lang", "zh_CN")
    assert "金额超过尚需金额（¥123.45）" in client.get("/scratch/refuse").get_data(as_text=True)
