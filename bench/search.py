"""Search on both backends over the same synthetic needs (default 100k): the in-memory index
of each worker (needs.search) and PostgreSQL with pg_trgm (needs.search_pg).

    .venv/bin/python bench/search.py [--size 100000] [--runs 7] [--seed 7]
                                     [--backend both|memory|postgres] [--reuse]

Generates seeded rows (realistic titles, stories, programmes, organisations and regions).
For PostgreSQL it loads them as verified needs into the database BENCH_DB (default
shanlian_search_bench; dropped and re-created unless --reuse finds it loaded), migrated to
head, then times the backfill of `need_search` (what migration 0038 does), reports the
table's and its trigram indexes' size and times the refresh of one need (what each commit
that changes a need's text or visibility pays). For the in-memory index it times the build
(what every worker of every host pays at start and again, in the background, after every
change of a need) and the resident memory it adds to the worker.

Then it times `search(q, 50)` on each backend for a fixed set of queries — exact 汉字,
typos, 全拼, 首字母, traditional characters, two-token queries, garbage — `--runs` times each,
interleaved, and prints per query the hits, median and p90 (ms) of each backend and the
agreement of their answers: the share of the in-memory index's hits the database also
returns (top 50, and top 1000 as /needs asks), and whether the first hit is the same.
The load average is printed before and after: the machine is shared.
"""
from __future__ import annotations

import argparse
import gc
import io
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.regions import KNOWN  # noqa: E402
from needs.search import (  # noqa: E402
    SearchIndex,
    SearchRow,
    normalize,
    normalize_query,
    pinyin,
)

DB_NAME = os.environ.get("BENCH_DB", "shanlian_search_bench")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"

PROGRAMMES = ["一米阳光", "潍爱善行·慈心助学", "社区基金", "“安心”纾困基金", "公益慈善创投大赛",
              "焕新乐园", "情暖夕阳·幸福餐桌", "海丝护童"]
CATEGORIES = ["助困", "助老", "助学", "助残", "助医", "社区"]
KINDS = ["wish", "project", "sponsorship", "microgrant"]
THINGS = ["新书包", "冬季棉衣", "助听器", "轮椅", "学习台灯", "课外读物", "运动鞋", "自行车",
          "营养午餐", "康复训练", "老人助餐", "房屋修缮", "取暖费", "医药费", "校服", "电脑",
          "字典", "篮球", "护理床", "助行器"]
PEOPLE = ["小安", "小乐", "小禾", "小雨", "小星", "小溪", "小舟", "小禾苗", "小林", "小月"]
PHRASES = ["家庭困难", "父母务工在外", "由祖父母照顾", "希望得到帮助", "学习成绩优秀",
           "身体残疾", "独居老人", "因病致贫", "社区志愿者走访核实", "民政部门已审核",
           "用于购买学习用品", "改善居住条件", "按季度拨付", "费用公开透明"]
QUERIES = ["助学", "书包", "新书包", "shubao", "zhuxue", "zx", "xsb", "助學", "輪椅",
           "一米阳关", "lunyi", "lunyu", "滨州 助老", "邹平 轮椅", "康复训练", "kangfu",
           "营养午餐", "yinyangwucan", "小禾苗的电脑", "!!!", "qqqqq",
           # more typos and traditional characters
           "助聽器", "護理床", "康复训练器", "xinshubaa", "dianano", "学习台登", "冬季綿衣", "yyw"]


def rows(n: int, seed: int) -> list[SearchRow]:
    rnd = random.Random(seed)
    counties = [f"{p}/{c}/{k}" for p, cities in KNOWN.items() for c, ks in cities.items()
                for k in ks]
    orgs = [f"{rnd.choice(counties).split('/')[-1]}{s}" for s in
            ("慈善总会", "社会工作服务中心", "志愿者协会", "未成年人保护中心", "社区社会工作站")
            for _ in range(40)]
    out = []
    for i in range(1, n + 1):
        thing = rnd.choice(THINGS)
        who = rnd.choice(PEOPLE)
        kind = rnd.choice(KINDS)
        title = rnd.choice([f"{who}的{thing}", f"{who}想要一个{thing}",
                            f"{rnd.choice(counties).split('/')[-1]}{thing}项目",
                            f"{who}的{2024 + i % 3}—{2025 + i % 3}学年助学金"])
        story = "，".join(rnd.sample(PHRASES, 4)) + f"，需要{thing}。"
        out.append(SearchRow(i, title, story, rnd.choice(PROGRAMMES), rnd.choice(orgs),
                             f"{rnd.choice(counties)}/某某镇/第{i % 50}村", rnd.choice(CATEGORIES),
                             kind))
    return out


def _rss() -> int:
    """Resident set size of this process, bytes (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _load() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def _probe_rss(size: int) -> float:
    """MiB a fresh process grows by when it searches through PostgreSQL (after the
    normalizing tables, which both backends load: printed apart)."""
    import subprocess

    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--probe"],
                         capture_output=True, text=True, check=True).stdout.split()
    print(f"both backends: normalizing tables (traditional → simplified, pinyin) "
          f"{float(out[0]):.0f} MiB per worker")
    return float(out[1])


def _p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) > 1 else values[0]


# ------------------------------------------------------------------------ PostgreSQL ---

def _tsv(*values) -> str:
    return "\t".join("\\N" if v is None else str(v) for v in values) + "\n"


def load_database(data: list[SearchRow], reuse: bool) -> float:
    """The rows as verified needs in BENCH_DB, `need_search` backfilled. Returns the
    backfill's seconds (0 when reused)."""
    import psycopg
    from sqlalchemy import create_engine

    from core import migrate
    from needs import search_pg

    if reuse:
        try:
            with psycopg.connect(PG_URL) as conn:
                have = conn.execute("SELECT count(*) FROM need_search").fetchone()[0]
            if have == len(data):
                print(f"reusing {DB_NAME} ({have:,} rows)", flush=True)
                return 0.0
        except psycopg.Error:
            pass
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    sa_url = PG_URL.replace("postgresql://", "postgresql+psycopg://")
    migrate.upgrade(sa_url)
    t0 = time.perf_counter()
    orgs = {name: i for i, name in enumerate(sorted({r.organisation for r in data}), 1)}
    progs = {name: i for i, name in enumerate(sorted({r.programme for r in data}), 1)}
    tables = {
        "organisation (id,name,kind,region,status,created_at)": [
            _tsv(i, n, "charity", "山东省/滨州市/滨城区", "approved", "2025-01-01") for n, i in orgs.items()],
        "programme (id,code,name,summary,organiser,region,source,created_at)": [
            _tsv(i, f"p{i}", n, "", "", "山东省/滨州市", "", "2025-01-01") for n, i in progs.items()],
        "need (id,code,kind,title,story,category,region,amount,funded,disbursed,whole,urgency,"
        "people,state,programme_id,organisation_id,posted_at,verified_at)": [
            _tsv(r.id, f"N-{r.id}", r.kind, r.title, r.story, r.category, r.region, 100_000, 0, 0,
                 "f", 3, 1, "verified", progs[r.programme], orgs[r.organisation],
                 "2025-01-01", "2025-01-02") for r in data],
    }
    with psycopg.connect(PG_URL) as conn, conn.cursor() as cur:
        for table, lines in tables.items():
            with cur.copy(f"COPY {table} FROM STDIN") as copy:
                buf = io.StringIO()
                for k, line in enumerate(lines, 1):
                    buf.write(line)
                    if k % 20_000 == 0:
                        copy.write(buf.getvalue().encode())
                        buf = io.StringIO()
                copy.write(buf.getvalue().encode())
        for table in ("organisation", "programme", "need"):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")
    print(f"  needs loaded by COPY in {time.perf_counter() - t0:.1f} s", flush=True)
    engine = create_engine(sa_url)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        search_pg.rebuild(conn, reindex=True)  # as migration 0038: the indexes after the rows
    backfill = time.perf_counter() - t0
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE need_search")
    engine.dispose()
    return backfill


def pg_sizes() -> tuple[int, int]:
    import psycopg

    with psycopg.connect(PG_URL) as conn:
        table, indexes = conn.execute(
            "SELECT pg_table_size('need_search'), pg_indexes_size('need_search')").fetchone()
    return table, indexes


def pg_refresh_ms(engine, ids: list[int]) -> list[float]:
    """Milliseconds to rewrite one need's row, as a commit that changed it does."""
    from needs import search_pg

    out = []
    with engine.connect() as conn:
        for need_id in ids:
            t = time.perf_counter()
            with conn.begin():
                search_pg.refresh(conn, [need_id])
            out.append((time.perf_counter() - t) * 1000)
    return out


# ------------------------------------------------------------------------------ main ---

def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--backend", choices=("both", "memory", "postgres"), default="both")
    ap.add_argument("--reuse", action="store_true", help="keep BENCH_DB if it is loaded")
    ap.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    use_memory = args.backend in ("both", "memory")
    use_pg = args.backend in ("both", "postgres")

    if args.probe:  # the PostgreSQL backend's memory in a fresh worker-like process
        from sqlalchemy import create_engine
        from sqlmodel import Session

        from needs import search_pg

        # imports done; the normalizing tables next, apart
        rss0 = _rss()
        normalize_query("助學"), pinyin(normalize("助学"))
        tables = _rss() - rss0
        engine = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
        with Session(engine) as session:
            for q in QUERIES:
                search_pg.search(session, q, 50)
                session.rollback()
        gc.collect()
        print(f"{tables / 2**20:.1f} {(_rss() - rss0 - tables) / 2**20:.1f}")
        return
    print(f"load average at start: {_load()} (2 cores)")
    data = rows(args.size, args.seed)
    normalize_query("助學"), pinyin(normalize("助学"))  # load the tables both backends use
    gc.collect()
    backends: dict = {}
    if use_pg:
        from sqlalchemy import create_engine
        from sqlmodel import Session

        from needs import search_pg

        backfill = load_database(data, args.reuse)
        table, indexes = pg_sizes()
        if backfill:
            print(f"PostgreSQL: need_search backfilled in {backfill:.1f} s "
                  f"({args.size / backfill:,.0f} needs/s)")
        print(f"PostgreSQL: need_search {table / 2**20:,.0f} MiB + trigram indexes "
              f"{indexes / 2**20:,.0f} MiB — one copy on the database server, none per worker")
        engine = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
        rng = random.Random(args.seed)
        refresh = pg_refresh_ms(engine, [rng.randrange(1, args.size + 1) for _ in range(50)])
        print(f"PostgreSQL: one need's row rewritten in {statistics.median(refresh):.1f} ms "
              f"median (p90 {_p90(refresh):.1f}), in the commit that changed it: "
              f"searchable at once on every worker")
        session = Session(engine)

        def pg_search(q, limit):
            hits = search_pg.search(session, q, limit)
            session.rollback()  # each search its own short transaction, as a request
            return hits

        backends["postgres"] = pg_search
        pg_search("助学", 50)  # connect, load the pinyin and t2s tables
        gc.collect()
        print(f"PostgreSQL: worker resident memory +{_probe_rss(args.size):,.0f} MiB (a fresh "
              f"process: a connection and {len(QUERIES)} searches; independent of the number "
              f"of needs)")
    if use_memory:
        gc.collect()
        before = _rss()
        t0 = time.perf_counter()
        index = SearchIndex.build(data)
        build = time.perf_counter() - t0
        gc.collect()
        grown = _rss() - before
        print(f"in-memory: index of {len(index):,} needs built in {build:.1f} s "
              f"({args.size / build:,.0f} needs/s; {len(index.keys):,} grams, "
              f"{len(index.postings):,} postings); worker resident memory +{grown / 2**20:,.0f} MiB "
              f"— paid by every worker of every host, the build again after every change")
        backends["memory"] = index.search

    names = list(backends)
    times: dict[str, dict[str, list[float]]] = {n: {q: [] for q in QUERIES} for n in names}
    hits: dict[str, dict[str, list[int]]] = {n: {} for n in names}
    for _ in range(args.runs):
        for q in QUERIES:
            for name in names:
                t = time.perf_counter()
                found = backends[name](q, 50)
                times[name][q].append((time.perf_counter() - t) * 1000)
                hits[name][q] = [h.id for h in found]
    wide = {n: {q: [h.id for h in backends[n](q, 1000)] for q in QUERIES} for n in names}

    head = f"{'query':<16}" + "".join(f"{n + ' hits':>14}{'med ms':>8}{'p90':>7}" for n in names)
    if len(names) == 2:
        head += f"{'agree@50':>10}{'agree@1000':>11}{'same 1st':>9}"
    print(head)
    agree50, agree1000, same_first = [], [], []
    for q in QUERIES:
        line = f"{q:<16}"
        for n in names:
            line += (f"{len(hits[n][q]):>14}{statistics.median(times[n][q]):>8.1f}"
                     f"{_p90(times[n][q]):>7.1f}")
        if len(names) == 2:
            mem50, pg50 = hits["memory"][q], hits["postgres"][q]
            mem, pg = wide["memory"][q], wide["postgres"][q]
            a50 = len(set(mem50) & set(pg50)) / len(mem50) if mem50 else float(not pg50)
            a1000 = len(set(mem) & set(pg)) / len(mem) if mem else float(not pg)
            same = (mem50[:1] == pg50[:1])
            agree50.append(a50)
            agree1000.append(a1000)
            same_first.append(same)
            line += f"{a50:>10.0%}{a1000:>11.0%}{'yes' if same else 'no':>9}"
        print(line)
    for n in names:
        medians = [statistics.median(times[n][q]) for q in QUERIES]
        every = [t for q in QUERIES for t in times[n][q]]
        print(f"{n}: median of per-query medians {statistics.median(medians):.1f} ms, "
              f"p90 of all searches {_p90(every):.1f} ms, worst median {max(medians):.1f} ms")
    if len(names) == 2:
        mem_med = statistics.median(statistics.median(times["memory"][q]) for q in QUERIES)
        pg_med = statistics.median(statistics.median(times["postgres"][q]) for q in QUERIES)
        print(f"postgres / memory median latency: {pg_med / mem_med:.2f}x")
        print(f"agreement over {len(QUERIES)} queries: the database returns "
              f"{statistics.mean(agree50):.0%} of the in-memory top 50 "
              f"({statistics.mean(agree1000):.0%} of its top 1000); same first hit for "
              f"{sum(same_first)}/{len(same_first)} queries")
    print(f"load average at end: {_load()}")


if __name__ == "__main__":
    main()
