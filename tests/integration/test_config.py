"""Configuration from the README's table that the app must honour: SHANLIAN_LOCALE sets
the default language; the development SECRET_KEY is refused outside debug and testing."""
import os
import subprocess
import sys

import pytest

from core.config import DEV_SECRET_KEY, Settings
from web import create_app


def test_shanlian_locale_sets_the_default_language(clean_url):
    settings = Settings.from_env({"DATABASE_URL": clean_url, "SECRET_KEY": "k",
                                  "SHANLIAN_LOCALE": "en"})
    app = create_app(settings)
    app.config.update(TESTING=True)
    client = app.test_client()
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)
    client.set_cookie("lang", "zh_CN")  # a visitor's own choice still wins
    assert '<html lang="zh-CN">' in client.get("/").get_data(as_text=True)


def test_the_default_language_is_chinese(clean_url):
    app = create_app(Settings(database_url=clean_url, secret_key="k"))
    assert '<html lang="zh-CN">' in app.test_client().get("/").get_data(as_text=True)


@pytest.mark.parametrize("value,locale", [("zh_CN", "zh_CN"), ("zh-CN", "zh_CN"), ("en", "en"),
                                          ("en_US", "en"), ("", "zh_CN")])
def test_locale_spellings(value, locale):
    assert Settings.from_env({"SHANLIAN_LOCALE": value}).default_locale == locale


def test_an_unknown_locale_is_refused():
    with pytest.raises(ValueError, match="SHANLIAN_LOCALE"):
        Settings.from_env({"SHANLIAN_LOCALE": "fr"})


def test_the_dev_secret_key_is_refused_when_serving(clean_url):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(Settings(database_url=clean_url, secret_key=DEV_SECRET_KEY))


def test_the_dev_secret_key_is_fine_in_debug(clean_url, monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    assert create_app(Settings(database_url=clean_url, secret_key=DEV_SECRET_KEY)).debug


def test_cli_commands_run_without_a_secret_key(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "FLASK_DEBUG")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "web", "db", "upgrade"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
