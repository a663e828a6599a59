"""Benchmark of the matching engine on seeded synthetic instances, one row per family and size.

    .venv/bin/python bench/matching.py [--sizes 1000,10000,100000] [--families base,tight]
                                       [--runs 3] [--seed 7] [--exact-lp 10000]
                                       [--time-limits 1,3]
    .venv/bin/python bench/matching.py --write 10000 --family cap_heavy -o /tmp/inst.json

Families (``FAMILIES``) reshape the same-seed base instance: base, cap_heavy, match_heavy,
tight, abundant, national, concentrated.  Time and peak RSS are those of the whole
``python -m matching solve INSTANCE -o RESULT`` process (interpreter start, imports, JSON,
solving, the built-in validation, writing), median over ``--runs``; CPU is user + system
seconds of that process and its helpers, and "load" the 1-minute load average after the
runs (on a shared machine the wall time is mostly how much CPU the others left us).  The result is then
re-validated here and compared with the two baselines and, with ``--exact-lp``, with the
exact LP solved by HiGHS on every eligible pair.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# province -> city -> counties (real names); streets and communities are generated per county
GEO = {
    "山东省": {
        "滨州市": ["滨城区", "沾化区", "惠民县", "阳信县", "无棣县", "博兴县", "邹平市"],
        "潍坊市": ["奎文区", "潍城区", "寒亭区", "坊子区", "青州市", "诸城市", "寿光市",
                 "安丘市", "高密市", "昌邑市", "临朐县", "昌乐县"],
        "聊城市": ["东昌府区", "茌平区", "临清市", "阳谷县", "莘县", "东阿县", "冠县", "高唐县"],
    },
    "广西壮族自治区": {"北海市": ["海城区", "银海区", "铁山港区", "合浦县"]},
}
STREETS = ["黄山街道", "城北街道", "城南街道", "东城街道", "西城街道", "高新街道", "开发区街道",
           "新立河街道", "好生街道", "长山镇"]
COMMUNITIES = ["齐明社区", "幸福社区", "和平社区", "阳光社区", "新华社区", "民主社区", "育才社区",
               "光明社区", "团结社区", "文昌社区", "振兴社区", "滨河社区"]
CATEGORIES = ["助学", "助困", "助老", "助残", "医疗", "儿童"]
CAT_W = [30, 25, 15, 10, 10, 10]
AS_OF = date(2026, 11, 24)


def _regions(rng: random.Random) -> list[str]:
    out = []
    for prov, cities in GEO.items():
        for city, counties in cities.items():
            for county in counties:
                for street in rng.sample(STREETS, rng.randint(3, 6)):
                    for comm in rng.sample(COMMUNITIES, rng.randint(3, 7)):
                        out.append(f"{prov}/{city}/{county}/{street}/{comm}")
    return out


def _logu(rng: random.Random, lo: int, hi: int) -> int:
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _urgency(rng: random.Random, hi: bool = False) -> int:
    w = [5, 15, 30, 30, 20] if hi else [15, 25, 30, 20, 10]
    return rng.choices([1, 2, 3, 4, 5], w)[0]


def generate(n_needs: int, seed: int = 7) -> dict:
    """A realistic instance: amounts in fen, supply ≈ 70% of the demand."""
    rng = random.Random(seed * 1_000_003 + n_needs)
    leaves = _regions(rng)
    # needs cluster: a few busy communities, many quiet ones
    leaf_w = [rng.paretovariate(1.5) for _ in leaves]
    needs = []
    ben_seq = 0
    recent_bens: list[tuple[str, str]] = []
    t_post = datetime(2026, 8, 26, 8, 0, 0)
    for i in range(n_needs):
        region = rng.choices(leaves, leaf_w)[0]
        r = rng.random()
        funded = 0
        people = 1
        if r < 0.50:
            kind, amount, whole = "wish", _logu(rng, 5_000, 200_000), True
            cat = rng.choices(CATEGORIES, CAT_W)[0]
            urg = _urgency(rng)
        elif r < 0.65:
            kind, amount, whole = "microgrant", _logu(rng, 50_000, 2_000_000), False
            cat = rng.choices(["助困", "医疗", "助老", "助残"], [40, 30, 15, 15])[0]
            urg = _urgency(rng, hi=True)
            people = rng.randint(1, 5)
        elif r < 0.80:
            kind, amount, whole, cat = "sponsorship", 1_000_000, True, "助学"
            urg = _urgency(rng, hi=True)
        else:
            kind, amount, whole = "project", _logu(rng, 500_000, 50_000_000), False
            cat = rng.choices(CATEGORIES, CAT_W)[0]
            urg = _urgency(rng)
            people = _logu(rng, 10, 500)
            if rng.random() < 0.4:
                funded = int(amount * rng.uniform(0.05, 0.6))
        if kind == "project":
            ben = None
        elif recent_bens and rng.random() < 0.1:
            ben = rng.choice(recent_bens)[0]
        else:
            ben_seq += 1
            ben = f"B-{ben_seq}"
            recent_bens.append((ben, region))
            if len(recent_bens) > 50:
                recent_bens.pop(0)
        t_post += timedelta(seconds=rng.randint(1, 7_776_000 // max(1, n_needs) * 2))
        dl = AS_OF + timedelta(days=rng.randint(-20, 365)) if rng.random() < 0.9 else None
        needs.append({
            "id": f"N-{i + 1}", "kind": kind, "amount": amount, "funded": funded, "whole": whole,
            "category": cat, "region": region, "urgency": urg, "people": people,
            "deadline": dl.isoformat() if dl else None, "beneficiary": ben,
            "verified": rng.random() < 0.93, "posted_at": t_post.isoformat(),
        })
    demand = sum(n["amount"] - n["funded"] for n in needs)

    cities = [(p, c) for p, cs in GEO.items() for c in cs]
    counties = [(p, c, k) for p, cs in GEO.items() for c, ks in cs.items() for k in ks]
    sources = []
    n_pledges = max(3, n_needs // 20)
    for i in range(n_pledges):
        r = rng.random()
        if r < 0.40:
            regions = ["/".join(rng.choice(cities))]
        elif r < 0.65:
            regions = ["/".join(rng.choice(counties))]
        elif r < 0.80:
            regions = [rng.choice(list(GEO))]
        elif r < 0.90:
            regions = ["/".join(c) for c in rng.sample(cities, 2)]
        else:
            regions = []
        r = rng.random()
        cats = (rng.sample(CATEGORIES, 1) if r < 0.5 else rng.sample(CATEGORIES, 2) if r < 0.8
                else [])
        r = rng.random()
        kinds = ([] if r < 0.4 else ["project"] if r < 0.7 else ["sponsorship"] if r < 0.85
                 else ["wish", "microgrant"])
        if "sponsorship" in kinds and cats and "助学" not in cats:
            cats.append("助学")
        src = {"id": f"P-{i + 1}", "kind": "pledge", "budget": _logu(rng, 1, 50),
               "categories": cats, "regions": regions, "need_kinds": kinds,
               "per_grant_cap": None, "per_beneficiary_cap": None}
        # caps as enterprises set them: per child at least a student-year (¥10,000); grant caps
        # on big projects; a few 配捐 pledges matching public money raised for one category
        if rng.random() < 0.5:
            src["per_beneficiary_cap"] = rng.choice([1_000_000, 2_000_000, 5_000_000])
        if rng.random() < 0.2:
            src["per_grant_cap"] = rng.choice([10_000_000, 20_000_000, 30_000_000])
        if rng.random() < 0.04:
            src["match_ratio"] = rng.choice([0.5, 1.0, 2.0])
            src["need_kinds"] = ["project"]
            src["categories"] = cats[:1] or [rng.choices(CATEGORIES, CAT_W)[0]]
        sources.append(src)
    for i in range(150):
        leaf = rng.choice(leaves)
        region = leaf if rng.random() < 0.7 else leaf.rsplit("/", 1)[0]
        sources.append({
            "id": f"F-{i + 1}", "kind": "community_fund", "budget": _logu(rng, 1, 10),
            "categories": [], "regions": [region],
            "need_kinds": ["wish", "microgrant"] if rng.random() < 0.8 else [],
            "per_grant_cap": rng.choice([200_000, 300_000, 500_000]),
            "per_beneficiary_cap": rng.choice([None, 500_000]),
        })
    # supply = 70% of demand: 90% pledges, 10% community funds (weights above are relative)
    for kind, share in (("pledge", 0.9), ("community_fund", 0.1)):
        group = [s for s in sources if s["kind"] == kind]
        tot = sum(s["budget"] for s in group)
        for s in group:
            s["budget"] = int(s["budget"] / tot * share * 0.7 * demand)
    rng.shuffle(sources)
    return {"as_of": AS_OF.isoformat(), "needs": needs, "sources": sources}


# ------------------------------------------------------------------ instance families
# Each family reshapes the same-seed base instance (so families differ only in the feature
# they stress) with its own seeded random stream.

def _pledges(inst: dict) -> list[dict]:
    return [s for s in inst["sources"] if s["kind"] == "pledge"]


def _scale_supply(inst: dict, share: float) -> None:
    demand = sum(n["amount"] - n["funded"] for n in inst["needs"])
    supply = sum(s["budget"] for s in inst["sources"])
    if not supply:
        return
    for s in inst["sources"]:
        s["budget"] = int(s["budget"] * share * demand / supply)


def _cap_heavy(inst: dict, rng: random.Random) -> None:
    """Per-beneficiary caps of ¥5,000–20,000 on 40% of pledges, per-grant caps on every fund
    and on 60% of pledges (¥20,000–200,000)."""
    for s in _pledges(inst):
        s["per_beneficiary_cap"] = (rng.choice([500_000, 1_000_000, 2_000_000])
                                    if rng.random() < 0.4 else None)
        if rng.random() < 0.6:
            s["per_grant_cap"] = rng.choice([2_000_000, 5_000_000, 10_000_000, 20_000_000])
    for s in inst["sources"]:
        if s["kind"] == "community_fund":
            s["per_grant_cap"] = rng.choice([100_000, 200_000, 300_000])


def _match_heavy(inst: dict, rng: random.Random) -> None:
    """配捐 on 30% of pledges, ratios 0.5–2, over provinces or the whole country."""
    for s in _pledges(inst):
        if rng.random() < 0.3:
            s["match_ratio"] = rng.choice([0.5, 1.0, 1.5, 2.0])
            s["need_kinds"] = ["project"]
            s["categories"] = rng.sample(CATEGORIES, rng.randint(1, 2))
            s["regions"] = [] if rng.random() < 0.4 else [rng.choice(list(GEO))]
        else:
            s.pop("match_ratio", None)


def _national(inst: dict, rng: random.Random) -> None:
    """80% of pledges with no region limit."""
    for s in _pledges(inst):
        if rng.random() < 0.8:
            s["regions"] = []


def _concentrated(inst: dict, rng: random.Random) -> None:
    """Half the needs moved into one city (滨州市), keeping their county-and-below shape."""
    leaves = [r for r in _regions(random.Random(rng.random())) if r.startswith("山东省/滨州市/")]
    for n in inst["needs"]:
        if rng.random() < 0.5 and not n["region"].startswith("山东省/滨州市/"):
            n["region"] = rng.choice(leaves)


FAMILIES = {
    "base": lambda inst, rng: None,
    "cap_heavy": _cap_heavy,
    "match_heavy": _match_heavy,
    "tight": lambda inst, rng: _scale_supply(inst, 0.2),
    "abundant": lambda inst, rng: _scale_supply(inst, 1.5),
    "national": _national,
    "concentrated": _concentrated,
}


def generate_family(family: str, n_needs: int, seed: int = 7) -> dict:
    """The base instance of ``n_needs`` reshaped into ``family`` (one of :data:`FAMILIES`)."""
    inst = generate(n_needs, seed)
    FAMILIES[family](inst, random.Random(f"{family}/{seed}/{n_needs}"))
    return inst


# ------------------------------------------------------------------ the exact LP (HiGHS)

def exact_lp_bound(data: dict) -> float:
    """The linear relaxation solved directly with HiGHS on every eligible (source, need) pair:
    each need divisible, a whole need only with sources that could fund it entirely, every
    per-beneficiary cap across all of that beneficiary's needs.  Independent of the engine's
    network; practical up to ~10k needs (dev dependency ``highspy``)."""
    import highspy
    import numpy as np

    from matching import eligibility as el
    from matching import parse_instance

    inst = parse_instance(data)
    live = [n for n in inst.needs if el.is_live(n, inst.as_of)]
    index = el.SourceIndex(inst.sources)
    cost, upper, rows = [], [], []  # rows: per column, the row indices it appears in
    ben_row: dict[tuple[int, str], int] = {}
    n_src, n_need = len(inst.sources), len(live)
    for j, n in enumerate(live):
        for si in index.candidates(n):
            s = inst.sources[si]
            if not el.pair_ok(s, n):
                continue
            r = [si, n_src + j]
            bc = el.beneficiary_cap(s, n)
            if bc is not None:
                k = ben_row.setdefault((si, n.beneficiary), n_src + n_need + len(ben_row))
                r.append(k)
            cost.append(n.weight / n.open)
            upper.append(min(el.grant_limit(s, n), n.open, s.budget))
            rows.append(r)
    if not cost:
        return 0.0
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(cost), n_src + n_need + len(ben_row)
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = np.zeros(len(cost))
    lp.col_upper_ = np.asarray(upper, dtype=float)
    lp.row_lower_ = np.zeros(lp.num_row_)
    lp.row_upper_ = np.asarray([s.budget for s in inst.sources] + [n.open for n in live]
                               + [inst.sources[si].per_beneficiary_cap for si, _b in ben_row],
                               dtype=float)
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.cumsum([0] + [len(r) for r in rows])
    lp.a_matrix_.index_ = np.asarray([i for r in rows for i in r], dtype=np.int32)
    lp.a_matrix_.value_ = np.ones(len(lp.a_matrix_.index_))
    sys.stdout.flush()
    saved = os.dup(1)  # HiGHS prints its banner on construction: keep it out of the table
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    try:
        h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"HiGHS: {h.modelStatusToString(h.getModelStatus())}")
    return h.getInfo().objective_function_value


# ------------------------------------------------------------------ measuring

def _hwm(pid: int) -> int:
    """Peak resident set (VmHWM) of a live process in bytes, 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def run_cli(path: str, out: str, time_limit: float | None = None
            ) -> tuple[float, int, int, float]:
    """Wall seconds of one whole ``python -m matching solve`` process, its peak RSS, the
    sum of the peaks of it and its helpers (forked bound flow / time-limited engine), and
    the CPU seconds (user + system) of all of them.

    Peaks are read from /proc every 10 ms while it runs (``ru_maxrss`` would not do: Linux
    carries the forking benchmark's own peak over into the child across exec).  The CPU
    time counts the helpers too: the process waits for them, so theirs is added to its."""
    cmd = [sys.executable, "-m", "matching", "solve", path, "-o", out]
    if time_limit is not None:
        cmd += ["--time-limit", str(time_limit)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks: dict[int, int] = {}
    while proc.poll() is None:
        todo = [proc.pid]
        while todo:
            pid = todo.pop()
            peaks[pid] = max(peaks.get(pid, 0), _hwm(pid))
            todo += _children(pid)
        time.sleep(0.01)
    secs = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"matching solve failed: {err}")
    return secs, peaks.get(proc.pid, 0), sum(peaks.values()), cpu


def summary(inst, res: dict, urgent: list) -> dict:
    import matching

    tot: dict[str, int] = {}
    for a in res["allocations"]:
        tot[a["need"]] = tot.get(a["need"], 0) + a["amount"]
    return {"objective": res["stats"]["objective"], "stranded": res["stats"]["stranded"],
            "urgent_funded": sum(1 for n in urgent if tot.get(n.id) == n.open),
            "violations": len(matching.validate(inst, res))}


def measure(family: str, n: int, seed: int, runs: int, exact_lp: bool,
            limits: list[float], tmp: str) -> dict:
    import matching
    from matching import baselines
    from matching.eligibility import is_live

    data = generate_family(family, n, seed)
    path, out = os.path.join(tmp, "inst.json"), os.path.join(tmp, "res.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
    timings = [run_cli(path, out) for _ in range(runs)]
    with open(out, encoding="utf-8") as f:
        res = json.load(f)
    inst = matching.parse_instance(data)
    urgent = [m for m in inst.needs if is_live(m, inst.as_of) and m.urgency >= 4]
    row = {
        "family": family, "n": n, "seconds": statistics.median(t[0] for t in timings),
        "cpu": statistics.median(t[3] for t in timings), "load": os.getloadavg()[0],
        "runs": [round(t[0], 2) for t in timings], "rss": statistics.median(t[1] for t in timings),
        "rss_all": statistics.median(t[2] for t in timings),
        "upper_bound": res["stats"]["upper_bound"],
        "graph": res["stats"]["graph"], "urgent_total": len(urgent),
        "engine": summary(inst, res, urgent),
        "fcfs": summary(inst, baselines.first_come_first_served(inst), urgent),
        "greedy": summary(inst, baselines.greedy_by_urgency(inst), urgent),
        "lp": exact_lp_bound(data) if exact_lp else None, "limits": [],
    }
    for lim in limits:
        secs, rss, _all, cpu = run_cli(path, out, lim)
        with open(out, encoding="utf-8") as f:
            r = json.load(f)
        row["limits"].append({"limit": lim, "seconds": secs, "rss": rss, "cpu": cpu,
                              "ratio": r["stats"]["objective"] / r["stats"]["upper_bound"],
                              "vs_free_bound": r["stats"]["objective"] / row["upper_bound"],
                              "violations": len(matching.validate(inst, r))})
    return row


def _yuan(fen: float) -> str:
    return f"¥{fen / 100:,.0f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--families", default=",".join(FAMILIES),
                    help=f"comma-separated, from: {', '.join(FAMILIES)}")
    ap.add_argument("--runs", type=int, default=3, help="timed whole-process runs (median)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--exact-lp", type=int, default=0, metavar="N",
                    help="also solve the exact LP with HiGHS for sizes up to N needs")
    ap.add_argument("--time-limits", default="", metavar="S,S",
                    help="also run with each --time-limit and report wall time and quality")
    ap.add_argument("--write", type=int, metavar="N", help="only write an instance of N needs")
    ap.add_argument("--family", default="base", help="with --write: the family to write")
    ap.add_argument("-o", "--output", default="-")
    args = ap.parse_args(argv)
    if args.write:
        text = json.dumps(generate_family(args.family, args.write, args.seed), ensure_ascii=False)
        if args.output == "-":
            print(text)
        else:
            with open(args.output, "w", encoding="utf-8") as f:
                f.write(text)
        return 0

    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    families = [f for f in args.families.split(",") if f.strip()]
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        ap.error(f"unknown family {unknown[0]!r} (one of {', '.join(FAMILIES)})")
    limits = [float(x) for x in args.time_limits.split(",") if x.strip()]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fam in families:
            for n in sizes:
                row = measure(fam, n, args.seed, args.runs, n <= args.exact_lp, limits, tmp)
                rows.append(row)
                print(f"# {fam} {n}: runs {row['runs']} s, graph {row['graph']}", file=sys.stderr,
                      flush=True)
    print(f"seed {args.seed}, {args.runs} whole-process run(s) per row (medians); "
          f"os.cpu_count()={os.cpu_count()}; 1-min load average at the end: "
          f"{os.getloadavg()[0]:.2f}")
    print()
    print("| family | needs | wall (whole process) | CPU user+sys | load | peak RSS (with helper) "
          "| obj / bound | obj / exact LP "
          "| obj / FCFS | obj / greedy | urgency 4–5 funded (engine / FCFS / greedy) "
          "| stranded (engine / FCFS / greedy) | violations |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|")
    for r in rows:
        e, f, g = r["engine"], r["fcfs"], r["greedy"]
        lp = f"{e['objective'] / r['lp']:.5f}" if r["lp"] else "–"
        print(f"| {r['family']} | {r['n']:,} | {r['seconds']:.2f} s | {r['cpu']:.2f} s "
              f"| {r['load']:.1f} "
              f"| {r['rss'] / 2**20:.0f} MiB ({r['rss_all'] / 2**20:.0f} MiB) "
              f"| {e['objective'] / r['upper_bound']:.5f} | {lp} "
              f"| {e['objective'] / f['objective']:.2f}× | {e['objective'] / g['objective']:.4f}× "
              f"| {e['urgent_funded']:,} / {f['urgent_funded']:,} / {g['urgent_funded']:,} "
              f"of {r['urgent_total']:,} "
              f"| {_yuan(e['stranded'])} / {_yuan(f['stranded'])} / {_yuan(g['stranded'])} "
              f"| {e['violations']} / {f['violations']} / {g['violations']} |")
    if limits:
        print()
        print("| family | needs | --time-limit | wall | CPU | obj / its bound "
              "| obj / unlimited bound | violations |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for r in rows:
            for x in r["limits"]:
                print(f"| {r['family']} | {r['n']:,} | {x['limit']:g} s | {x['seconds']:.2f} s "
                      f"| {x['cpu']:.2f} s "
                      f"| {x['ratio']:.5f} | {x['vs_free_bound']:.5f} | {x['violations']} |")
    return 0


if __name__ == "__main__":
    # run as a script, this file's folder comes first on sys.path and its name would shadow
    # the engine package: put the repository root first instead
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [ROOT] + [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.exit(main())
