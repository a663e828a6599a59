"""In-process cost of a page-cache miss, per page of bench/web.py: milliseconds, SQL
statements and their time, on the benchmark's database (build it with bench/web.py first).

    BENCH_DB=shanlian_bench .venv/bin/python bench/page_profile.py            # table
    BENCH_DB=shanlian_bench .venv/bin/python bench/page_profile.py --sql      # + statements
    BENCH_DB=shanlian_bench .venv/bin/python bench/page_profile.py --profile "needs list"

Each page is requested through the Flask test client with the page cache off (every request
renders, as with `bench/web.py --no-page-cache`), after a warm-up; the table shows the median
over `--repeat` requests. `--profile NAME` prints a cProfile of that page (cumulative time).
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


class StatementCounter:
    """SQL statements (and their time) per request, from the engine's cursor events."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.statements: list[tuple[str, float]] = []

    def install(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        @event.listens_for(Engine, "before_cursor_execute")
        def _before(conn, cursor, statement, params, context, executemany):
            self.local.t0 = time.perf_counter()

        @event.listens_for(Engine, "after_cursor_execute")
        def _after(conn, cursor, statement, params, context, executemany):
            self.statements.append((statement, time.perf_counter() - self.local.t0))

        @event.listens_for(Engine, "commit")
        def _commit(conn):
            self.statements.append(("COMMIT", 0.0))

        @event.listens_for(Engine, "rollback")
        def _rollback(conn):
            self.statements.append(("ROLLBACK", 0.0))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--sql", action="store_true", help="print each page's statements")
    parser.add_argument("--profile", metavar="NAME", help="cProfile this page")
    parser.add_argument("--lines", type=int, default=40, help="lines of the profile")
    parser.add_argument("--page-cache", action="store_true", help="leave the page cache on")
    args = parser.parse_args(argv)

    import bench.web as bw

    os.environ["DATABASE_URL"] = bw.PG_URL.replace("postgresql://", "postgresql+psycopg://")
    os.environ.setdefault("REDIS_URL", "")
    os.environ["BENCH_PAGE_CACHE"] = "1" if args.page_cache else "0"
    counter = StatementCounter()
    counter.install()
    app = bw.bench_app()
    app.config["CHECKPOINT_CLOCK"] = False  # no background signing in the statement counts
    project = bw.busiest_project()
    client = app.test_client()
    pages = {}
    for name, urls in bw.PAGES.items():
        for url in urls:
            url = url.format(project=project)
            if client.get(url).status_code == 200:
                pages[name] = url
                break
    print(f"load average {os.getloadavg()[0]:.1f}; medians of {args.repeat} requests")
    print(f"{'page':<20} {'ms':>7} {'cpu ms':>7} {'queries':>8} {'sql ms':>7}  url")
    for name, url in pages.items():
        for _ in range(3):
            client.get(url)
        times, cpu, counts, sql = [], [], [], []
        for _ in range(args.repeat):
            counter.statements = []
            t0, c0 = time.perf_counter(), time.thread_time()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)
            assert response.status_code == 200, (url, response.status_code)
            counts.append(sum(1 for s, _ in counter.statements if s not in ("COMMIT", "ROLLBACK")))
            sql.append(sum(t for _, t in counter.statements) * 1000)
        print(f"{name:<20} {statistics.median(times):7.2f} {statistics.median(cpu):7.2f} "
              f"{statistics.median(counts):8.0f} "
              f"{statistics.median(sql):7.2f}  {url}", flush=True)
        if args.sql:
            for statement, seconds in counter.statements:
                print(f"      {seconds * 1000:6.2f} ms  {' '.join(statement.split())[:150]}")
    if args.profile:
        url = pages[args.profile]
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.repeat):
            client.get(url)
        profiler.disable()
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(args.lines)
        stats.sort_stats("tottime").print_stats(args.lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
