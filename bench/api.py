"""The API's needs list and one need, in process (Flask test client, no server, no page
cache: the API is never page-cached), each as a ratio to a trivial route on the same app in
the same run. Over the demo data on a temporary SQLite file, or DATABASE_URL if set (its
data is replaced by the demo!). Prints medians of several runs; the gunicorn numbers are
bench/web.py's "api needs list" and "api one need" rows.

    .venv/bin/python bench/api.py [--runs 5] [--seconds 2]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(__file__)]
sys.path.insert(0, ROOT)


def build_app():
    from sqlmodel import select

    from core import migrate
    from core.config import Settings
    from core.db import get_engine, unit_of_work
    from demo import load
    from needs.models import Need
    from web import create_app
    from web.permissions import public

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    migrate.upgrade(url)
    with unit_of_work(get_engine(url)) as session:
        load(session)
        code = session.exec(select(Need.code).where(Need.kind == "project")).first()
    app = create_app(Settings(database_url=url, secret_key="bench-only"))
    app.config.update(API_RATE_LIMIT="100000000/minute", PAGE_CACHE=False)
    app.add_url_rule("/bench/trivial", "bench_trivial", public(lambda: "ok"))
    return app, code


def rate(client, url: str, seconds: float) -> float:
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        assert client.get(url).status_code == 200, url
        done += 1
    return done / (time.perf_counter() - start)


def _third_page(client, url: str) -> str:
    """The `next` link twice followed: a page reached by a cursor (signed, checked, a keyset
    condition in SQL) rather than the first page."""
    for _ in range(2):
        url = client.get(url).get_json()["next"]
    return url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    import logging

    logging.disable(logging.INFO)
    app, code = build_app()
    client = app.test_client()
    urls = {"trivial": "/bench/trivial",
            "api needs list": "/api/v1/needs?kind=sponsorship&sort=amount",
            "api needs, 3rd keyset page": _third_page(client, "/api/v1/needs?sort=amount"),
            "api one need": f"/api/v1/needs/{code}"}
    runs: dict[str, list[float]] = {name: [] for name in urls}
    for _ in range(args.runs):
        for name, url in urls.items():
            runs[name].append(rate(client, url, args.seconds))
    trivial = statistics.median(runs["trivial"])
    print(f"{args.runs} runs x {args.seconds:g} s per URL, in process (shared, noisy machine)")
    print("| route | URL | median req/s | ratio to trivial |")
    print("|---|---|---:|---:|")
    for name, url in urls.items():
        median = statistics.median(runs[name])
        shown = url if len(url) < 60 else url.split("cursor=")[0] + "cursor=…"
        print(f"| {name} | {shown} | {median:,.0f} | {median / trivial:.0%} |")


if __name__ == "__main__":
    main()
