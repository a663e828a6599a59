"""Benchmark of a matching run over the database: 100,000 needs and 5,000 pledges and funds
in PostgreSQL; the time to build the instance from the database, to solve (and validate) it
and to write the proposals, each printed, and the run's peak memory.

    DATABASE_URL=postgresql://…/scratch .venv/bin/python bench/matching_db.py \
        [--needs 100000] [--sources 5000] [--runs 3] [--seed 7]

The database's tables are EMPTIED first (it must be a scratch database). Each run is a
fresh child process, so ru_maxrss is that run's own peak; a run supersedes the previous
run's proposals, as in production. Target: the whole run under 30 s and under 1 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from sqlalchemy import insert  # noqa: E402

from core.regions import KNOWN  # noqa: E402

CATEGORIES = ("助困", "助老", "助学", "助残", "助医", "社区")
KINDS = ("wish", "project", "sponsorship", "microgrant")
STREETS = ("黄山街道", "城北街道", "城南街道", "东城街道", "长山镇")
COMMUNITIES = ("齐明社区", "幸福社区", "和平社区", "阳光社区", "新华社区", "文昌社区")


def _counties() -> list[str]:
    return [f"{p}/{c}/{k}" for p, cities in KNOWN.items() for c, ks in cities.items() for k in ks]


def load(url: str, n_needs: int, n_sources: int, seed: int) -> None:
    from core import migrate
    from core.db import get_engine, unit_of_work
    from donors.models import Enterprise, Pledge
    from funds.models import CommunityFund
    from needs.models import Need, Organisation
    from tests.conftest import truncate_all

    migrate.upgrade(url)
    truncate_all(url)
    rng = random.Random(seed)
    counties = _counties()
    communities = [f"{c}/{rng.choice(STREETS)}/{rng.choice(COMMUNITIES)}" for c in counties
                   for _ in range(6)]
    moment = datetime(2026, 11, 1, tzinfo=UTC)
    engine = get_engine(url)
    with unit_of_work(engine) as s:
        s.execute(insert(Organisation), [{"name": f"机构{i}", "kind": "charity",
                                          "region": counties[i % len(counties)],
                                          "status": "approved", "created_at": moment}
                                         for i in range(200)])
        s.execute(insert(Enterprise), [{"code": f"E-{i}", "name": f"企业{i}",
                                        "region": counties[i % len(counties)],
                                        "status": "approved", "created_at": moment}
                                       for i in range(1, 501)])
    rows = []
    for i in range(1, n_needs + 1):
        kind = rng.choices(KINDS, weights=(4, 3, 1, 2))[0]
        amount = {"wish": rng.randint(50, 800) * 100, "sponsorship": 1_000_000,
                  "microgrant": rng.randint(300, 5_000) * 100,
                  "project": rng.randint(2_000, 200_000) * 100}[kind]
        funded = rng.randint(0, amount // 2) // 100 * 100 if kind == "project" else 0
        rows.append({
            "code": f"N-{i}", "kind": kind, "title": f"需求{i}", "story": "",
            "category": rng.choice(CATEGORIES), "region": rng.choice(communities),
            "amount": amount, "funded": funded, "disbursed": 0,
            "whole": kind in ("wish", "sponsorship"), "urgency": rng.randint(1, 5),
            "people": rng.randint(1, 30), "deadline": date(2027, rng.randint(1, 12), 28),
            "state": "verified", "organisation_id": rng.randint(1, 200),
            "posted_at": moment, "verified_at": moment})
    with unit_of_work(engine) as s:
        for start in range(0, len(rows), 10_000):
            s.execute(insert(Need), rows[start:start + 10_000])
    pledges, funds = [], []
    for i in range(1, n_sources + 1):
        if i % 2:
            budget = rng.randint(10_000, 2_000_000) * 100
            pledges.append({
                "code": f"PL-{i}", "enterprise_id": rng.randint(1, 500), "title": f"认捐{i}",
                "budget": budget, "paid_in": budget, "allocated": 0,
                "categories": rng.sample(CATEGORIES, rng.randint(0, 2)),
                "regions": [rng.choice(counties).rsplit("/", rng.randint(0, 1))[0]],
                "need_kinds": rng.sample(KINDS, rng.randint(0, 2)),
                "per_grant_cap": rng.choice((None, 5_000_000, 1_000_000)),
                "per_beneficiary_cap": None, "match_ratio_pct": None, "status": "active",
                "created_at": moment})
        else:
            funds.append({
                "code": f"F-{i}", "name": f"社区基金{i}", "region": rng.choice(communities),
                "balance": rng.randint(1_000, 200_000) * 100, "per_grant_cap": 500_000,
                "second_approval_over": None, "need_kinds": ["microgrant", "wish"],
                "created_at": moment, "always_four_eyes": False, "fast_path_limit": None})
    with unit_of_work(engine) as s:
        s.execute(insert(Pledge), pledges)
        s.execute(insert(CommunityFund), funds)


def one_run(url: str) -> dict:
    """In the child process: one matching run, timed by its own stats."""
    import core.models_registry  # noqa: F401  (every table, as in a worker)
    from core.db import get_engine, unit_of_work
    from donors import matching_runs

    t0 = time.perf_counter()
    with unit_of_work(get_engine(url)) as s:
        run = matching_runs.carry_out(s, matching_runs.start_run(s))
        stats = dict(run.stats)
        status = run.status
    stats["total_seconds"] = round(time.perf_counter() - t0, 3)
    stats["status"] = status
    stats["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {k: stats.get(k) for k in ("status", "needs", "sources", "proposals",
                                       "build_seconds", "solve_seconds", "write_seconds",
                                       "total_seconds", "peak_mb")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--needs", type=int, default=100_000)
    parser.add_argument("--sources", type=int, default=5_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        from core.config import Settings

        url = Settings.from_env().database_url  # the psycopg 3 driver
    if args.child:
        print(json.dumps(one_run(url)))
        return
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL to a scratch PostgreSQL database (its tables are emptied)")
    t0 = time.perf_counter()
    load(url, args.needs, args.sources, args.seed)
    print(f"loaded {args.needs} needs, {args.sources} pledges and funds in "
          f"{time.perf_counter() - t0:.1f} s")
    results = []
    for i in range(args.runs):
        out = subprocess.run([sys.executable, __file__, "--child"], capture_output=True,
                             text=True, check=True, env=os.environ | {"PYTHONPATH": ROOT})
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"run {i + 1}: {result}")
    print("median over", len(results), "runs (a shared, noisy machine):")
    for key in ("build_seconds", "solve_seconds", "write_seconds", "total_seconds", "peak_mb"):
        values = [r[key] for r in results if r.get(key) is not None]
        print(f"  {key:14s} {statistics.median(values):9.2f}")


if __name__ == "__main__":
    main()
