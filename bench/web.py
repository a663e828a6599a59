"""Benchmark of the public pages on PostgreSQL with a platform-sized database.

    .venv/bin/python bench/web.py                 # build shanlian_bench, serve, measure
    .venv/bin/python bench/web.py --reuse         # keep the loaded database (fast re-run)
    .venv/bin/python bench/web.py --page search=/needs?q=助学 --duration 5 --runs 3

What it does:

1. Creates (or with ``--reuse`` keeps) the PostgreSQL database ``shanlian_bench``, migrates
   it with ``core.migrate.upgrade`` and bulk-loads synthetic data with COPY: organisations,
   the seed programmes, 100k needs across every county of ``core.regions.KNOWN`` (with
   towns and communities below them), beneficiaries with private rows, donors, enterprises
   and pledges, community funds, and ~500k ledger transactions of two postings each (1M
   postings) hash-chained with ``funds.ledger_format.txn_hash``. The mirror columns
   (need.funded/disbursed, pledge.paid_in/allocated, fund.balance) and the donation,
   allocation and disbursement rows agree with the ledger. Then VACUUM ANALYZE.
2. Serves the real app with gunicorn (the Procfile's shape: gthread workers) plus one extra
   route, ``/bench/trivial``, added to the very same app, so the trivial route and the
   pages pass through the same workers, middleware and request hooks.
3. Drives each URL from a second process on loopback with ``wrk`` (or, if wrk is missing,
   a keep-alive thread-pool client): a warm-up, then ``--runs`` rounds, each round
   measuring every URL once for ``--duration`` seconds (interleaved, so drift hits all
   URLs alike). The table shows medians over the rounds and each page's throughput as a
   ratio to the trivial route measured in the same run. Target: every page >= 25%.

The URLs live in ``PAGES`` below: each page lists candidate URLs tried in order; the first
that answers 200 is measured (so the bench keeps working while routes are being built).
``{project}`` is replaced by the code of the busiest public project. ``--page NAME=URL``
overrides or adds one.
"""
from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, date, datetime, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# Run as a script, Python puts bench/ first on sys.path, where this file would shadow the
# `web` package. Put the project root there instead.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

DB_NAME = "shanlian_bench"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_URL = f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"

# name -> candidate URLs, first that answers 200 wins. Edit here as routes appear.
PAGES: dict[str, list[str]] = {
    "trivial": ["/bench/trivial"],
    "needs list": ["/needs"],
    "search": ["/needs?q=书包"],
    "project disclosure": ["/disclosure/needs/{project}", "/disclosure/need/{project}",
                           "/disclosure/projects/{project}", "/disclosure/project/{project}",
                           "/needs/{project}"],
    "totals": ["/disclosure/", "/"],
    # ---- h12: the JSON API (never page-cached: filtered API queries are mostly misses)
    "api needs list": ["/api/v1/needs?kind=sponsorship&sort=amount"],
    "api one need": ["/api/v1/needs/{project}"],
}
TARGET_RATIO = 0.25


# --------------------------------------------------------------------------- the app ---

def bench_app():
    """The real app plus a trivial route, for gunicorn: 'bench.web:bench_app()'."""
    from core.config import Settings
    from web import create_app

    settings = Settings.from_env()
    if not os.environ.get("SECRET_KEY"):  # a benchmark signs nothing real
        settings = dataclasses.replace(settings, secret_key="bench-only")
    app = create_app(settings)
    # --no-page-cache: every request renders (the worst case, no micro-cache hits).
    app.config["PAGE_CACHE"] = os.environ.get("BENCH_PAGE_CACHE", "1") != "0"
    app.config["API_RATE_LIMIT"] = "100000000/minute"  # h12: one load generator, many requests

    def trivial():
        return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}

    app.add_url_rule("/bench/trivial", "bench_trivial", trivial)
    return app


# ------------------------------------------------------------------ synthetic data ---

STREETS = ("城关街道", "东城街道", "西城街道", "南关街道", "北关街道", "开发区", "新华街道",
           "黄山街道", "长山镇", "好生镇", "临池镇", "码头镇", "青阳镇", "魏桥镇", "孙镇")
COMMUNITIES = ("齐明社区", "幸福社区", "和平社区", "阳光社区", "新华社区", "民主社区", "育才社区",
               "光明社区", "团结社区", "文昌社区", "振兴社区", "滨河社区", "王家村", "李家村",
               "张家村", "刘家村", "前进村", "红旗村")
PROGRAMMES = [  # code, name, region
    ("yimi", "一米阳光", "山东省/滨州市"), ("cixin", "潍爱善行·慈心助学", "山东省/潍坊市"),
    ("shequ", "社区基金", "山东省/滨州市"), ("anxin", "“安心”纾困基金", "山东省/滨州市"),
    ("chuangtou", "公益慈善创投大赛", "山东省/潍坊市"), ("huanxin", "焕新乐园", "山东省/聊城市"),
    ("canting", "情暖夕阳·幸福餐桌", "山东省/潍坊市"), ("haisi", "海丝护童", "广西壮族自治区/北海市"),
]
WISH_ITEMS = (("一个新书包", 120), ("一件过冬的羽绒服", 260), ("一辆上学骑的自行车", 680),
              ("一本新华字典", 50), ("一盏护眼台灯", 150), ("一个篮球", 90), ("一套课外读物", 200),
              ("一双运动鞋", 180), ("一副羽毛球拍", 160), ("一台电子琴", 1200),
              ("一套绘画工具", 140), ("一张书桌", 450), ("一件校服冬装", 220),
              ("一副眼镜", 380), ("一床新棉被", 280), ("一块电话手表", 520), ("一套科学实验盒", 240))
PROJECT_TITLES = {
    "助困": ("困难群众冬季取暖救助", "低保边缘家庭临时救助", "分散特困人员照护服务"),
    "助老": ("孝善食堂新建与规范提升", "失能老人居家养老服务", "养老机构除颤仪安装", "高龄独居老人探访"),
    "助学": ("孤残儿童接力助学", "留守儿童童心守护", "流动儿童课后服务", "乡村儿童周末课堂"),
    "助残": ("精神障碍社区康复服务", "残疾人辅具适配", "残疾人居家康复指导"),
    "助医": ("大病患儿医疗救助", "乡村卫生室设备更新"),
    "社区": ("社区慈善基金能力培训", "村级议事会能力建设", "社区书屋建设"),
}
MICRO_TITLES = ("独居老人突发住院押金", "困难家庭孩子开学学杂费", "火灾受损家庭临时安置", "残疾人轮椅维修",
                "低保户冬季取暖煤", "意外受伤医药费", "留守老人助听器", "困难学生冬衣", "慢病药费", "房租临时周转")
FAMILY = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林罗高"
GIVEN = ("伟", "芳", "娜", "洋", "静", "帆", "磊", "敏", "杰", "婷", "强", "丽", "超", "琳", "斌",
         "佳", "颖", "峰", "琦", "翔", "子涵", "浩然", "欣怡", "梓轩", "雨桐")
PSEUDONYMS = ("小安", "小宇", "小禾", "小溪", "小舟", "小果", "小星", "小月", "小林", "小朵")
START = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)


def _counties() -> list[str]:
    from core.regions import KNOWN

    return [f"{p}/{c}/{k}" for p, cities in KNOWN.items() for c, ks in cities.items() for k in ks]


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` fen in `parts` positive pieces of whole yuan when possible."""
    parts = max(1, min(parts, total // 100 or 1))
    if parts == 1:
        return [total]
    yuan, rest = divmod(total, 100)
    cuts = sorted(rng.sample(range(1, yuan), parts - 1))
    pieces = [(b - a) * 100 for a, b in zip([0, *cuts], [*cuts, yuan], strict=True)]
    pieces[-1] += rest
    return pieces


class Writer:
    """Rows for one COPY, kept as tab-separated text (our values hold no tab or newline)."""

    def __init__(self, table: str, columns: str) -> None:
        self.table, self.columns, self.buf, self.count = table, columns, io.StringIO(), 0

    def row(self, *values) -> None:
        out = []
        for v in values:
            if v is None:
                out.append("\\N")
            elif v is True:
                out.append("t")
            elif v is False:
                out.append("f")
            elif isinstance(v, datetime):
                out.append(v.isoformat(sep=" "))
            else:
                out.append(str(v))
        self.buf.write("\t".join(out) + "\n")
        self.count += 1

    def copy(self, cur) -> None:
        data = self.buf.getvalue().encode()
        with cur.copy(f'COPY "{self.table}" ({self.columns}) FROM STDIN') as copy:
            for i in range(0, len(data), 1 << 20):
                copy.write(data[i:i + (1 << 20)])


def generate(n_needs: int, n_txns: int, seed: int = 7) -> list[Writer]:
    """Every table's rows, consistent with one hash-chained ledger of exactly n_txns."""
    from core.clock import iso_z
    from funds.ledger_format import GENESIS, txn_hash

    rng = random.Random(seed)
    counties = _counties()
    w = {name: Writer(name, cols) for name, cols in [
        ("organisation", "id,name,kind,region,status,created_at"),
        ("programme", "id,code,name,summary,organiser,region,source,created_at"),
        ("enterprise", "id,code,name,region,status,created_at"),
        ("donor", "id,public_id,name,show_name,created_at"),
        ("pledge", "id,code,enterprise_id,programme_id,title,budget,paid_in,allocated,categories,"
                   "regions,need_kinds,status,created_at"),
        ("communityfund", "id,code,name,region,programme_id,organisation_id,balance,need_kinds,"
                          "created_at"),
        ("beneficiary", "id,code,pseudonym,age_band,is_minor,region,organisation_id,verified_at,"
                        "created_at"),
        ("beneficiary_private", "beneficiary_id,full_name,id_number,birth_date,address,school,"
                                "guardian_phone"),
        ("need", "id,code,kind,title,story,category,region,amount,funded,disbursed,whole,urgency,"
                 "people,deadline,state,programme_id,organisation_id,beneficiary_id,posted_at,"
                 "verified_at"),
        ("ledger_txn", "seq,at,kind,ref,memo,prev,hash"),
        ("ledger_posting", "id,seq,position,account,amount"),
        ("donation", "id,donor_id,enterprise_id,need_id,fund_id,amount,status,payment_ref,"
                     "ledger_seq,created_at"),
        ("allocation", "id,need_id,pledge_id,fund_id,amount,status,ledger_seq,reason,created_at"),
        ("disbursement", "id,need_id,amount,paid_to,memo,at,ledger_seq"),
    ]}

    orgs = []
    for county in counties:
        for j, kind in enumerate(("charity", "social_work_station")):
            oid = len(orgs) + 1
            name = county.split("/")[-1] + ("慈善会" if j == 0 else "社会工作服务站")
            w["organisation"].row(oid, name, kind, county, "approved", START)
            orgs.append((oid, county, name))
    for pid, (code, name, region) in enumerate(PROGRAMMES, start=1):
        w["programme"].row(pid, code, name, f"{name}（基准测试数据）", "民政局", region, "bench",
                           START)
    n_ent = 40
    for eid in range(1, n_ent + 1):
        region = "/".join(rng.choice(counties).split("/")[:2])
        w["enterprise"].row(eid, f"E-{eid}", f"爱心企业{eid}号有限公司", region, "approved", START)
    n_donors = max(1000, n_needs // 5)
    donors = []
    for did in range(1, n_donors + 1):
        name = rng.choice(FAMILY) + rng.choice(GIVEN)
        w["donor"].row(did, f"{did:010x}", name, rng.random() < 0.15, START)
        donors.append(f"{did:010x}")
    binzhou = [c for c in counties if "/滨州市/" in c]
    funds = []  # (id, code, region)
    for fid in range(1, 148):
        county = binzhou[fid % len(binzhou)]
        funds.append((fid, f"F-{fid}", f"{county}/{rng.choice(STREETS)}/{COMMUNITIES[fid % 12]}"))

    # --- needs and their funding plan ---
    kinds = ["wish"] * 40 + ["project"] * 25 + ["sponsorship"] * 15 + ["microgrant"] * 20
    prefix = {"wish": "W", "project": "J", "sponsorship": "S", "microgrant": "M"}
    credits: list[tuple] = []  # (need_id, code, kind, source, amount) for credit txns
    disburse: list[tuple] = []  # (need_id, code, amount, paid_to)
    need_rows = []
    bid = 0
    projects = []  # (index into need_rows, open amount) for projects taking many donations
    for nid in range(1, n_needs + 1):
        kind = rng.choice(kinds)
        county = rng.choice(counties)
        region = f"{county}/{rng.choice(STREETS)}/{rng.choice(COMMUNITIES)}"
        org = orgs[(counties.index(county)) * 2 + rng.randrange(2)]
        r = rng.random()
        state = ("draft" if r < 0.02 else "submitted" if r < 0.05 else "rejected" if r < 0.06
                 else "verified" if r < 0.55 else "funded" if r < 0.72 else "disbursed"
                 if r < 0.84 else "delivered" if r < 0.94 else "closed")
        ben = None
        if kind == "wish":
            item, yuan = rng.choice(WISH_ITEMS)
            title, amount, category, prog = f"{rng.choice(PSEUDONYMS)}的心愿：{item}", yuan * 100, "助学", 8
        elif kind == "sponsorship":
            title, amount, category, prog = "慈心助学：一学年资助", 1_000_000, "助学", 2
        elif kind == "microgrant":
            title = rng.choice(MICRO_TITLES)
            amount, category, prog = rng.randrange(5, 50) * 10_000, rng.choice(("助困", "助老", "助医")), 3
        else:
            category = rng.choice(list(PROJECT_TITLES))
            title = f"{county.split('/')[-1]}{rng.choice(PROJECT_TITLES[category])}"
            amount, prog = rng.randrange(50, 800) * 100_000, rng.choice((1, 4, 5, 6, 7))
        if kind in ("wish", "sponsorship"):
            bid += 1
            ben = bid
            band = "6-11" if kind == "wish" else rng.choice(("12-14", "15-17"))
            w["beneficiary"].row(bid, f"B-{bid}", rng.choice(PSEUDONYMS), band, True, region,
                                 org[0], START, START)
            born = date(2008 + rng.randrange(12), 1 + rng.randrange(12), 1 + rng.randrange(28))
            w["beneficiary_private"].row(
                bid, rng.choice(FAMILY) + rng.choice(GIVEN) + rng.choice(GIVEN),
                f"000000{born:%Y%m%d}{bid % 10000:04d}", born, f"{region}{bid}号（虚构）",
                f"{county.split('/')[-1]}第{1 + bid % 9}小学（虚构）", f"1380000{bid % 10000:04d}")
        code = f"{prefix[kind]}-{nid}"
        public = state in ("verified", "funded", "disbursed", "delivered", "closed")
        full = state in ("funded", "disbursed", "delivered", "closed")
        funded = amount if full else 0
        if state == "verified" and kind in ("project", "microgrant") and rng.random() < 0.7:
            funded = rng.randrange(1, amount // 100) * 100
        disbursed = funded if state in ("disbursed", "delivered", "closed") else 0
        posted = START + timedelta(minutes=nid * 5)
        need_rows.append([nid, code, kind, title, f"{title}。基准测试用的虚构故事。", category, region,
                          amount, funded, disbursed, kind in ("wish", "sponsorship"),
                          rng.randint(1, 5), 1 if kind == "wish" else rng.randint(1, 300),
                          None, state, prog, org[0], ben, posted,
                          posted + timedelta(days=1) if public or state == "rejected" else None])
        if funded:
            if kind == "project":
                projects.append((nid, code, funded))
            elif kind == "microgrant":
                credits.append((nid, code, "grant", rng.choice(funds), funded))
            elif kind == "sponsorship" or rng.random() < 0.3:
                credits.append((nid, code, "allocation", rng.randrange(1, n_ent + 1), funded))
            else:
                credits.append((nid, code, "donation", rng.randrange(n_donors), funded))
        if disbursed:
            disburse.append((nid, code, disbursed, org[2]))

    # Projects take most of the remaining transaction budget as many donations each; gifts
    # to community funds make up the exact count.
    grants_per_fund: dict[int, int] = {}
    alloc_per_pledge: dict[int, int] = {}
    n_pledge_pay = 4 * n_ent
    left = n_txns - len(credits) - len(disburse) - n_pledge_pay - 2 * len(funds)
    total_project = sum(f for _, _, f in projects) or 1
    for nid, code, funded in projects:
        for amount in _split(funded, max(1, int(left * funded / total_project)), rng):
            if rng.random() < 0.05:
                credits.append((nid, code, "allocation", rng.randrange(1, n_ent + 1), amount))
            else:
                credits.append((nid, code, "donation", rng.randrange(n_donors), amount))
    n_fund_gifts = n_txns - len(credits) - len(disburse) - n_pledge_pay
    if n_fund_gifts < len(funds):
        raise SystemExit("too few transactions for this many needs; raise --txns")
    rng.shuffle(credits)
    for _, _, how, src, amount in credits:
        if how == "grant":
            grants_per_fund[src[0]] = grants_per_fund.get(src[0], 0) + amount
        elif how == "allocation":
            alloc_per_pledge[src] = alloc_per_pledge.get(src, 0) + amount

    # --- the ledger, in order: money in, money to needs, money out ---
    seq, prev, pid_ = 0, GENESIS, 0
    moment = START
    step = timedelta(seconds=max(1, int(365 * 86400 / max(1, n_txns))))
    ids = {"donation": 0, "allocation": 0, "disbursement": 0}

    def txn(kind, ref, memo, a_from, a_to, amount):
        nonlocal seq, prev, pid_, moment
        seq += 1
        moment += step
        body = {"seq": seq, "at": iso_z(moment), "kind": kind, "ref": ref, "memo": memo,
                "postings": [{"account": a_from, "amount": -amount},
                             {"account": a_to, "amount": amount}], "prev": prev}
        digest = txn_hash(body)
        w["ledger_txn"].row(seq, moment, kind, ref, memo, prev, digest)
        pid_ += 1
        w["ledger_posting"].row(pid_, seq, 0, a_from, -amount)
        pid_ += 1
        w["ledger_posting"].row(pid_, seq, 1, a_to, amount)
        prev = digest
        return seq

    def new_id(table):
        ids[table] += 1
        return ids[table]

    paid_in = {}
    for eid in range(1, n_ent + 1):
        paid_in[eid] = alloc_per_pledge.get(eid, 0) + 1_000_000
        for amount in _split(paid_in[eid], n_pledge_pay // n_ent, rng):
            txn("pledge_payment", f"pledge:PL-{eid}", f"爱心企业{eid}号认捐到账",
                f"enterprise:E-{eid}", f"pledge:PL-{eid}", amount)
    balance = {}
    for i, (fid, code, _region) in enumerate(funds):
        count = n_fund_gifts // len(funds) + (1 if i < n_fund_gifts % len(funds) else 0)
        total = grants_per_fund.get(fid, 0) + 100 * count * 500
        for amount in _split(total, count, rng):
            donor = rng.randrange(n_donors)
            s = txn("donation", f"fund:{code}", f"捐赠社区基金 {code}", f"donor:{donors[donor]}",
                    f"fund:{code}", amount)
            w["donation"].row(new_id("donation"), donor + 1, None, None, fid, amount, "paid",
                              f"bench-{seq}", s, moment)
        balance[fid] = total - grants_per_fund.get(fid, 0)
    for nid, code, how, src, amount in credits:
        if how == "donation":
            s = txn("donation", f"donation:{ids['donation'] + 1}", f"捐赠 {code}",
                    f"donor:{donors[src]}", f"need:{code}", amount)
            w["donation"].row(new_id("donation"), src + 1, None, nid, None, amount, "paid",
                              f"bench-{seq}", s, moment)
        elif how == "allocation":
            aid = new_id("allocation")
            s = txn("allocation", f"allocation:{aid}", f"PL-{src} → {code}", f"pledge:PL-{src}",
                    f"need:{code}", amount)
            w["allocation"].row(aid, nid, src, None, amount, "executed", s, "", moment)
        else:
            aid = new_id("allocation")
            s = txn("grant", f"allocation:{aid}", f"{src[1]} → {code}", f"fund:{src[1]}",
                    f"need:{code}", amount)
            w["allocation"].row(aid, nid, None, src[0], amount, "executed", s, "", moment)
    for nid, code, amount, paid_to in disburse:
        s = txn("disbursement", f"need:{code}", f"拨付 {code}", f"need:{code}", f"disbursed:{code}",
                amount)
        w["disbursement"].row(new_id("disbursement"), nid, amount, paid_to, "按计划拨付", moment, s)
    assert seq == n_txns, (seq, n_txns)

    for eid in range(1, n_ent + 1):
        w["pledge"].row(eid, f"PL-{eid}", eid, None, f"爱心企业{eid}号定向捐赠", paid_in[eid] * 2,
                        paid_in[eid], alloc_per_pledge.get(eid, 0), "[]", "[]", "[]", "active",
                        START)
    for fid, code, region in funds:
        w["communityfund"].row(fid, code, f"{region.split('/')[-1]}社区基金", region, 3, None,
                               balance[fid], "[]", START)
    for row in need_rows:
        w["need"].row(*row)
    return list(w.values())


# ------------------------------------------------------------------------ database ---

def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def database_ready(min_needs: int) -> bool:
    import psycopg

    try:
        with psycopg.connect(PG_URL) as conn:
            return conn.execute("SELECT count(*) FROM need").fetchone()[0] >= min_needs
    except psycopg.Error:
        return False


def build_database(n_needs: int, n_txns: int, reuse: bool) -> None:
    import psycopg

    from core import migrate

    if reuse and database_ready(n_needs):
        print(f"reusing {DB_NAME}", flush=True)
        migrate.upgrade(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
        _vacuum_analyze()
        return
    t0 = time.perf_counter()
    _admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    _admin(f"CREATE DATABASE {DB_NAME}")
    migrate.upgrade(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    print(f"generating {n_needs} needs, {n_txns} ledger transactions ...", flush=True)
    writers = generate(n_needs, n_txns)
    t1 = time.perf_counter()
    with psycopg.connect(PG_URL) as conn, conn.cursor() as cur:
        for wr in writers:
            wr.copy(cur)
            print(f"  {wr.table:<20} {wr.count:>9,} rows", flush=True)
        for table, column in (("organisation", "id"), ("programme", "id"), ("enterprise", "id"),
                              ("donor", "id"), ("pledge", "id"), ("communityfund", "id"),
                              ("beneficiary", "id"), ("need", "id"), ("ledger_posting", "id"),
                              ("donation", "id"), ("allocation", "id"), ("disbursement", "id")):
            cur.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "
                        f"(SELECT coalesce(max({column}), 1) FROM \"{table}\"))")
    _vacuum_analyze()
    print(f"loaded in {time.perf_counter() - t0:.0f} s (generation {t1 - t0:.0f} s)", flush=True)


def _vacuum_analyze() -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def busiest_project() -> str:
    import psycopg

    with psycopg.connect(PG_URL) as conn:
        row = conn.execute(
            "SELECT n.code FROM need n JOIN donation d ON d.need_id = n.id "
            "WHERE n.kind = 'project' AND n.state IN ('verified','funded','disbursed','delivered',"
            "'closed') GROUP BY n.code ORDER BY count(*) DESC LIMIT 1").fetchone()
    return row[0]


# -------------------------------------------------------------------------- server ---

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int, threads: int, page_cache: bool = True) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=PG_URL, PYTHONPATH=ROOT,
               BENCH_PAGE_CACHE="1" if page_cache else "0")
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    proc = subprocess.Popen(
        [gunicorn, "--workers", str(workers), "--threads", str(threads), "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning", "bench.web:bench_app()"],
        cwd=ROOT, env=env, start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/bench/trivial", timeout=2).read()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("gunicorn exited during start-up") from None
            time.sleep(0.3)
    stop_server(proc)
    raise SystemExit("gunicorn did not answer within 30 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def encode(url: str) -> str:
    return urllib.parse.quote(url, safe="/?=&%:-_.~")


def status_of(base: str, url: str) -> int:
    try:
        with urllib.request.urlopen(base + encode(url), timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


# ---------------------------------------------------------------------- load driver ---

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def run_wrk(url: str, seconds: float, connections: int) -> tuple[float, float]:
    """(median latency ms, requests per second) from one wrk run."""
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                          "--timeout", "30s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or re.search(r"Socket errors: connect [1-9]|read [1-9]", out):
        raise SystemExit(f"errors while loading {url}:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M).groups()
    return float(value) * _UNITS[unit], rps


def run_python(url: str, seconds: float, connections: int) -> tuple[float, float]:
    """The same measurement without wrk: keep-alive connections, one thread each."""
    import http.client

    parts = urllib.parse.urlsplit(url)
    path = parts.path + ("?" + parts.query if parts.query else "")
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds

    def client():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine = []
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"{url} answered {response.status}")
            mine.append(time.perf_counter() - t)
        conn.close()
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return statistics.median(latencies) * 1e3, len(latencies) / elapsed


def measure(base: str, pages: dict[str, str], seconds: float, runs: int, connections: int,
            driver) -> dict[str, tuple[float, float]]:
    for url in pages.values():  # warm-up: caches, connection pools, worker imports
        driver(base + encode(url), 2, connections)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in pages}
    for r in range(runs):
        for name, url in pages.items():
            results[name].append(driver(base + encode(url), seconds, connections))
        print(f"  round {r + 1}/{runs} done", flush=True)
    return {name: (statistics.median(x[0] for x in res), statistics.median(x[1] for x in res))
            for name, res in results.items()}


def table(pages: dict[str, str], medians: dict[str, tuple[float, float]]) -> str:
    trivial_rps = medians["trivial"][1]
    lines = ["| page | URL | median latency (ms) | req/s | ratio to trivial |",
             "|---|---|---:|---:|---:|"]
    for name, url in pages.items():
        latency, rps = medians[name]
        ratio = rps / trivial_rps
        flag = "" if name == "trivial" or ratio >= TARGET_RATIO else " ✗"
        lines.append(f"| {name} | `{url}` | {latency:.1f} | {rps:,.0f} | {ratio:.0%}{flag} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded database")
    parser.add_argument("--needs", type=int, default=100_000)
    parser.add_argument("--txns", type=int, default=500_000, help="ledger transactions (x2 postings)")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per URL per round")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--page", action="append", default=[], metavar="NAME=URL",
                        help="measure URL under NAME (replaces a page of the same name)")
    parser.add_argument("--python-client", action="store_true", help="do not use wrk")
    parser.add_argument("--no-page-cache", action="store_true",
                        help="turn the public-page micro-cache off: every request renders")
    parser.add_argument("--json", help="also write the medians to this file")
    args = parser.parse_args(argv)

    build_database(args.needs, args.txns, args.reuse)
    project = busiest_project()
    candidates = {name: [u.format(project=project) for u in urls] for name, urls in PAGES.items()}
    for item in args.page:
        name, _, url = item.partition("=")
        candidates[name.strip()] = [url.strip()]

    driver = run_python if args.python_client or not shutil.which("wrk") else run_wrk
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(port, args.workers, args.threads, page_cache=not args.no_page_cache)
    try:
        pages = {}
        for name, urls in candidates.items():
            chosen = next((u for u in urls if status_of(base, u) == 200), None)
            if chosen is None:
                raise SystemExit(f"no candidate URL for {name!r} answers 200: {urls}")
            pages[name] = chosen
        print(f"page cache {'off' if args.no_page_cache else 'on'}; "
              f"measuring with {driver.__name__}, gunicorn {args.workers} workers x "
              f"{args.threads} threads, {args.connections} connections, "
              f"{args.runs} x {args.duration:g} s per URL", flush=True)
        medians = measure(base, pages, args.duration, args.runs, args.connections, driver)
    finally:
        stop_server(proc)
    print()
    print(table(pages, medians))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({name: {"url": pages[name], "latency_ms": m[0], "rps": m[1]}
                       for name, m in medians.items()}, fh, ensure_ascii=False, indent=2)
    missed = [n for n, (_, rps) in medians.items() if rps / medians["trivial"][1] < TARGET_RATIO]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
