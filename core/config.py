"""Configuration from the environment; every variable is listed in the README."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = ROOT / "instance"


DEV_SECRET_KEY = "dev-only-not-secret"  # refused by web.create_app outside debug/testing
LOCALES = ("zh_CN", "en")


def _default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'shanlian.db'}"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=_default_database_url)
    redis_url: str | None = None
    secret_key: str = DEV_SECRET_KEY
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None
    default_locale: str = "zh_CN"
    upload_dir: Path = INSTANCE_DIR / "uploads"
    # Absolute links (wish card, QR codes) are built on this, never on the Host header.
    site_url: str = "http://127.0.0.1:5000"
    # How many reverse proxies in front of the app set X-Forwarded-For/-Proto (0 = none).
    proxy_fix: int = 0

    @classmethod
    def from_env(cls, env: dict | None = None) -> Settings:
        env = os.environ if env is None else env
        url = env.get("DATABASE_URL") or _default_database_url()
        # Heroku-style URLs and plain postgresql:// both mean psycopg 3 here.
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return cls(
            database_url=url,
            redis_url=env.get("REDIS_URL") or None,
            secret_key=env.get("SECRET_KEY") or DEV_SECRET_KEY,
            stripe_secret_key=env.get("STRIPE_SECRET_KEY") or None,
            stripe_webhook_secret=env.get("STRIPE_WEBHOOK_SECRET") or None,
            stripe_api_base=env.get("STRIPE_API_BASE") or None,
            default_locale=_locale(env.get("SHANLIAN_LOCALE")),
            upload_dir=Path(env.get("UPLOAD_DIR") or INSTANCE_DIR / "uploads"),
            site_url=_site_url(env.get("SITE_URL")),
            proxy_fix=_proxy_count(env.get("PROXY_FIX")),
        )


def _locale(value: str | None) -> str:
    """SHANLIAN_LOCALE: zh_CN (default) or en; zh-CN / en_US style spellings are accepted,
    anything else is refused so a typo does not silently serve the wrong language."""
    if not value:
        return "zh_CN"
    normal = value.strip().replace("-", "_")
    for locale in LOCALES:
        if normal.lower() == locale.lower() or normal.lower().split("_")[0] == locale.lower():
            return locale
    if normal.lower().startswith("zh"):
        return "zh_CN"
    raise ValueError(f"SHANLIAN_LOCALE={value!r}: use one of {', '.join(LOCALES)}")


def _site_url(value: str | None) -> str:
    """SITE_URL: the public origin, e.g. https://shanlian.example (no path, no trailing /)."""
    if not value:
        return Settings.site_url
    url = value.strip().rstrip("/")
    if not url.startswith(("http://", "https://")) or "/" in url.split("://", 1)[1]:
        raise ValueError(f"SITE_URL={value!r}: use an origin such as https://shanlian.example")
    return url


def _proxy_count(value: str | None) -> int:
    """PROXY_FIX: the number of trusted proxies in front of the app (0 or unset: none)."""
    if not value:
        return 0
    if not value.strip().isascii() or not value.strip().isdigit() or int(value) > 5:
        raise ValueError(f"PROXY_FIX={value!r}: use the number of proxies, 0 to 5")
    return int(value)
