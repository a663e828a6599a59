"""Sign-in rate limit kept in Redis when REDIS_URL is set (so every worker shares it)."""
from __future__ import annotations

import redis

from core.config import Settings
from tests.conftest import require_redis
from web import create_app


def test_sign_in_limit_is_counted_in_redis(clean_url):
    url = require_redis()
    client_redis = redis.Redis.from_url(url)
    for key in client_redis.scan_iter("LIMITS*"):
        client_redis.delete(key)
    app = create_app(Settings(database_url=clean_url, secret_key="test", redis_url=url))
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False, PAGE_CACHE_TTL=0)
    assert app.config["RATELIMIT_STORAGE_URI"] == url
    client = app.test_client()
    codes = [client.post("/account/sign-in", data={"email": f"x{i}@b.cn", "password": "x"})
             .status_code for i in range(12)]
    assert codes[:10] == [422] * 10 and codes[10:] == [429, 429]
    assert any(b"sign_in" in key or b"127.0.0.1" in key
               for key in client_redis.scan_iter("LIMITS*"))
    # A second app (another worker) on the same Redis sees the same count.
    other = create_app(Settings(database_url=clean_url, secret_key="test", redis_url=url))
    other.config.update(TESTING=True, WTF_CSRF_ENABLED=False, PAGE_CACHE_TTL=0)
    assert other.test_client().post("/account/sign-in", data={"email": "y@b.cn",
                                                              "password": "x"}).status_code == 429
    for key in client_redis.scan_iter("LIMITS*"):
        client_redis.delete(key)
