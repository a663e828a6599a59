"""Export downloads on the demo data: the first request at a data version builds the file,
repeats are file sends. In-process (Flask test client, SQLite), medians of --runs.

    .venv/bin/python bench/exports.py [--runs 20]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)

    from web.demo_data import load

    from core import migrate
    from core.config import Settings
    from core.db import get_engine, unit_of_work
    from web import create_app

    folder = tempfile.mkdtemp(prefix="shanlian-exports-bench-")
    url = f"sqlite:///{folder}/bench.db"
    migrate.upgrade(url)
    with unit_of_work(get_engine(url)) as session:
        load(session)
    app = create_app(Settings(database_url=url, secret_key="bench",
                              upload_dir=__import__("pathlib").Path(folder) / "uploads"))
    client = app.test_client()
    print("| export | first request (builds) ms | repeat median ms | repeats/s | bytes |")
    print("|---|---:|---:|---:|---:|")
    for what in ("ledger.xlsx", "ledger.csv", "needs.xlsx"):
        started = time.perf_counter()
        first = client.get(f"/disclosure/export/{what}")
        build_ms = (time.perf_counter() - started) * 1e3
        assert first.status_code == 200, first.status_code
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            response = client.get(f"/disclosure/export/{what}")
            response.get_data()
            times.append(time.perf_counter() - started)
        median = statistics.median(times)
        print(f"| {what} | {build_ms:.1f} | {median * 1e3:.2f} | {1 / median:,.0f} | "
              f"{len(first.get_data()):,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
