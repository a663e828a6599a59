"""Exports are built once per data version, served from a file, and never stale."""
from core.db import get_engine, unit_of_work
from donors import services as donors
from needs.models import Need
from tests.conftest import make_app
from tests.integration.helpers import committed, org, verified_need
from web import export_cache, exports


def test_an_export_is_built_once_per_version_and_rebuilt_after_a_gift(clean_url, monkeypatch,
                                                                      tmp_path):
    need_id, code = committed(clean_url, lambda s: (lambda n: (n.id, n.code))(
        verified_need(s, org(s), kind="project", amount=100_000)))
    donor_id = committed(clean_url, lambda s: donors.create_donor(s, "赵六").id)
    app = make_app(clean_url)
    app.config["EXPORT_CACHE_DIR"] = str(tmp_path)
    builds = []
    real = exports.write_csv
    monkeypatch.setattr(exports, "write_csv", lambda *a: (builds.append(1), real(*a)))
    client = app.test_client()

    first = client.get("/disclosure/export/ledger.csv")
    second = client.get("/disclosure/export/ledger.csv")
    assert first.status_code == second.status_code == 200
    assert first.get_data() == second.get_data() and len(builds) == 1
    assert "attachment; filename=shanlian-ledger.csv" in first.headers["Content-Disposition"]
    with unit_of_work(get_engine(clean_url)) as s:
        donors.donate_to_need(s, s.get(donors.Donor, donor_id), s.get(Need, need_id), 4_321)
    third = client.get("/disclosure/export/ledger.csv").get_data(as_text=True)
    assert len(builds) == 2 and f"need:{code}" in third and "4321" in third
    with app.app_context():
        files = sorted(p.name for p in export_cache.export_dir(app).iterdir())
    assert len(files) == 1 and files[0].startswith("ledger-v")  # the older version is gone


def test_an_unknown_export_builds_nothing(clean_url, tmp_path):
    app = make_app(clean_url)
    app.config["EXPORT_CACHE_DIR"] = str(tmp_path)
    client = app.test_client()
    assert client.get("/disclosure/export/secrets.xlsx").status_code == 404
    assert client.get("/disclosure/export/fund-NOPE.csv").status_code == 404
    with app.app_context():
        assert list(export_cache.export_dir(app).iterdir()) == []


def test_exports_share_one_budget_per_address_answered_with_429_and_retry_after(clean_url,
                                                                                 tmp_path):
    import uuid

    app = make_app(clean_url)
    # A budget of its own (the limiter's store may be the shared Redis under CI).
    app.config.update(EXPORT_CACHE_DIR=str(tmp_path), EXPORT_RATE_LIMIT="3/minute")
    client = app.test_client()
    address = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"}
    answers = []
    for url in ("/disclosure/export/ledger.csv", "/disclosure/export/needs.xlsx",
                "/disclosure/ledger.jsonl"):
        with client.get(url, environ_base=address) as response:  # a stream: read and close
            response.get_data()
            answers.append(response.status_code)
    assert answers == [200, 200, 200]
    refused = client.get("/disclosure/export/funds.csv?lang=en", environ_base=address)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Too many requests" in refused.get_data(as_text=True)
    other = {"REMOTE_ADDR": "10.251.251.251"}
    assert client.get("/disclosure/export/funds.csv", environ_base=other).status_code == 200
    assert client.get("/disclosure/", environ_base=address).status_code == 200  # pages are not limited
