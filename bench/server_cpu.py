"""Server-side CPU per request: the gunicorn workers' and their PostgreSQL backends' CPU time
(from /proc) divided by the requests answered, for the trivial route and the JSON API on
the benchmark's database (bench/web.py's server, page cache off, and its Python client).

    .venv/bin/python bench/server_cpu.py [--rounds 3] [--duration 4] [--page NAME=URL]

Unlike req/s, CPU time per request hardly moves with what else the machine runs, so on a
shared machine it compares two versions of the code where bench/web.py's ratios drown in
the noise. `trivial/this` is the share of the trivial route's CPU a page costs, i.e. its
ratio to the trivial route if the server alone had the CPUs (the load client excluded).
Counted backends are those connected to the benchmark's database: run it under the bench
lock (flock /tmp/bench.lock …) so no other benchmark's queries are counted.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

PAGES = {"trivial": "/bench/trivial",
         "api needs list": "/api/v1/needs?kind=sponsorship&sort=amount",
         "api one need": "/api/v1/needs/{project}"}
TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def children(pid: int) -> list[int]:
    return [int(p) for p in os.listdir("/proc")
            if p.isdigit() and (s := _stat(int(p))) is not None and int(s[1]) == pid]


def backends(database: str) -> list[int]:
    out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc",
                          f"select pid from pg_stat_activity where datname = '{database}'"],
                         capture_output=True, text=True, check=True).stdout
    return [int(x) for x in out.split()]


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    return {pid: (int(s[11]) + int(s[12])) / TICK for pid in pids if (s := _stat(pid))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--page", action="append", default=[], metavar="NAME=URL")
    args = parser.parse_args(argv)
    import bench.web as bw

    pages = dict(PAGES)
    for item in args.page:
        name, url = item.split("=", 1)
        pages[name] = url
    project = bw.busiest_project()
    pages = {name: url.format(project=project) for name, url in pages.items()}
    port = bw.free_port(os.environ.get("BENCH_APP_PORTS", ""))
    proc = bw.start_server(port, 2, 4, page_cache=False)
    try:
        base = f"http://127.0.0.1:{port}"
        workers = children(proc.pid)
        for url in pages.values():
            bw.run_python(base + url, 2, args.connections, check=False)
        costs: dict[str, list[float]] = {name: [] for name in pages}
        for _ in range(args.rounds):
            for name, url in pages.items():
                before = cpu_seconds(workers + backends(bw.DB_NAME))
                started = time.perf_counter()
                _latency, rps = bw.run_python(base + url, args.duration, args.connections)
                answered = rps * (time.perf_counter() - started)
                after = cpu_seconds(workers + backends(bw.DB_NAME))
                used = sum(t - before.get(pid, 0.0) for pid, t in after.items())
                costs[name].append(used / answered * 1000)
        print(f"load average {os.getloadavg()[0]:.1f}; server CPU ms per request (gunicorn "
              f"workers + PostgreSQL backends), median of {args.rounds} rounds")
        trivial = statistics.median(costs["trivial"])
        for name, values in costs.items():
            median = statistics.median(values)
            print(f"  {name:<16} {median:6.2f} ms  trivial/this {trivial / median:6.1%}  "
                  f"(rounds {' '.join(f'{v:.2f}' for v in values)})")
    finally:
        bw.stop_server(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
