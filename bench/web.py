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
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# Run as a script, Python puts bench/ first on sys.path, where this file would shadow the
# `web` package. Put the project root there instead.
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# Several engineers share one PostgreSQL server: BENCH_DB names this run's database.
DB_NAME = os.environ.get("BENCH_DB", "shanlian_bench")
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
GIVING_TARGET_RATIO = 0.40  # with --giving R (the cache on)


# --------------------------------------------------------------------------- the app ---

def bench_app():
    """The real app plus a trivial route, for gunicorn: 'bench.web:bench_app()'."""
    import faulthandler

    from core.config import Settings
    from web import create_app

    faulthandler.register(signal.SIGUSR2, all_threads=True)  # kill -USR2 <worker>: stacks
    settings = Settings.from_env()
    if not os.environ.get("SECRET_KEY"):  # a benchmark signs nothing real
        settings = dataclasses.replace(settings, secret_key="bench-only")
    app = create_app(settings)
    # Each worker builds its search index before it takes traffic (tens of seconds at 100k
    # needs on a loaded machine); otherwise the first searches hold every thread of a cold
    # worker, and even the trivial route routed to it waits.
    from readside.search_cache import search_index
    from web.db import db_session

    with app.app_context():
        search_index(db_session())
    # --no-page-cache: every request renders (the worst case, no micro-cache hits).
    app.config["PAGE_CACHE"] = os.environ.get("BENCH_PAGE_CACHE", "1") != "0"
    app.config["API_RATE_LIMIT"] = "100000000/minute"  # h12: one load generator, many requests
    app.config["EXPORT_RATE_LIMIT"] = "100000000/minute"

    def trivial():
        return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}

    from web.permissions import public

    # Marked public: the app refuses every route that declares no access (web.permissions).
    app.add_url_rule("/bench/trivial", "bench_trivial", public(trivial))

    # Page-cache hits and misses per URL in this worker, for the hit rate under --giving.
    from flask import g, jsonify, request

    counts: dict[str, list[int]] = {}
    counts_lock = threading.Lock()

    @app.after_request
    def _count(response):
        if "page_cache_key" in g:
            with counts_lock:
                cell = counts.setdefault(request.full_path.rstrip("?"), [0, 0])
                cell[0 if g.get("page_cache_hit") else 1] += 1
        return response

    def cache_stats():
        with counts_lock:
            return jsonify(pid=os.getpid(), counts=counts)

    app.add_url_rule("/bench/cache-stats", "bench_cache_stats", public(cache_stats))
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
        # COPY bypasses ledger.append: fill the totals it keeps from the postings.
        from funds.ledger_aggregates import rebuild_statements

        for statement in rebuild_statements("postgresql"):
            cur.execute(statement)
    # COPY bypasses the services too: fill the search rows (needs.search_pg) as 0038 does.
    from sqlalchemy import create_engine

    from needs import search_pg

    engine = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        search_pg.rebuild(conn, reindex=True)
    engine.dispose()
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


# ------------------------------------------------------------------------ giving ---

class Giver(threading.Thread):
    """R confirmed gifts per second through the real service (donors.services.donate_to_need,
    one unit of work each: donation row, need's mirror column, ledger append), to random open
    projects, while the pages are measured. Does not burst to catch up when it falls behind."""

    def __init__(self, rate: float, seed: int = 11) -> None:
        super().__init__(daemon=True)
        self.rate, self.rng = rate, random.Random(seed)
        self.stopping = threading.Event()
        self.given = self.refused = 0
        self.errors: list[str] = []
        self.started_at = self.stopped_at = 0.0

    def run(self) -> None:
        from sqlmodel import select

        from core.db import get_engine, unit_of_work
        from core.errors import UserError
        from donors import services as donors
        from donors.models import Donor
        from needs.models import Need

        engine = get_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://"))
        with unit_of_work(engine) as s:
            open_ids = list(s.exec(select(Need.id).where(
                Need.kind == "project", Need.state == "verified",
                Need.funded + 100_000 <= Need.amount)).all())
            donor_ids = list(s.exec(select(Donor.id)).all())
        lock = threading.Lock()

        def give(donor_id: int, need_id: int, amount: int) -> None:
            try:
                with unit_of_work(engine) as s:
                    donors.donate_to_need(s, s.get(Donor, donor_id), s.get(Need, need_id),
                                          amount)
                with lock:
                    self.given += 1
            except UserError:
                with lock:
                    self.refused += 1
            except Exception as exc:  # noqa: BLE001 — reported at the end, not lost in the pool
                with lock:
                    self.errors.append(repr(exc))

        # A few gifts in flight at once, as from several checkout requests.
        with ThreadPoolExecutor(max_workers=4) as pool:
            self.started_at = next_at = time.monotonic()
            while not self.stopping.is_set():
                next_at = max(next_at + 1 / self.rate, time.monotonic() - 1 / self.rate)
                self.stopping.wait(max(0.0, next_at - time.monotonic()))
                if pool._work_queue.qsize() < 8:  # behind: drop a tick rather than pile up
                    pool.submit(give, self.rng.choice(donor_ids), self.rng.choice(open_ids),
                                self.rng.randrange(1, 50) * 100)
            self.stopped_at = time.monotonic()

    def stop(self) -> float:
        """Stop; the rate achieved, gifts per second."""
        self.stopping.set()
        self.join(30)
        return self.given / max(1e-9, self.stopped_at - self.started_at)


def cache_counts(base: str, workers: int, wait: float = 30) -> dict[str, list[int]]:
    """Hits and misses per URL summed over the workers (each answers for itself, so ask until
    every worker has answered, for at most `wait` seconds)."""
    seen: dict[int, dict] = {}
    deadline = time.monotonic() + wait
    while len(seen) < workers:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(seen)} of {workers} workers answered in {wait:g} s")
        with urllib.request.urlopen(base + "/bench/cache-stats", timeout=10) as response:
            data = json.load(response)
        seen[data["pid"]] = data["counts"]
        if len(seen) < workers:
            time.sleep(0.01)
    total: dict[str, list[int]] = {}
    for counts in seen.values():
        for url, (hits, misses) in counts.items():
            cell = total.setdefault(urllib.parse.unquote(url), [0, 0])
            cell[0] += hits
            cell[1] += misses
    return total


# -------------------------------------------------------------------------- server ---

def free_port(ports: str = "") -> int:
    """A free port on loopback, from `ports` ("5140-5149") when given, else any."""
    low, _, high = ports.partition("-")
    candidates = range(int(low), int(high or low) + 1) if low else [0]
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise SystemExit(f"no free port in {ports}")


# ------------------------------------------------------------ proxy and slow clients ---

NGINX_CONF = """daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {deploy}/shanlian-http.conf;
    upstream shanlian_app {{ server 127.0.0.1:{app_port}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{proxy_port};
        include {deploy}/shanlian-proxy.conf;
    }}
}}
"""


def start_proxy(app_port: int, proxy_port: int) -> tuple[subprocess.Popen, str]:
    """nginx (Debian's package) with the shipped deploy/nginx configuration in front of the
    benchmark's gunicorn."""
    import tempfile

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = tempfile.mkdtemp(prefix="shanlian-nginx-")
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as fh:
        fh.write(NGINX_CONF.format(prefix=prefix, deploy=os.path.join(ROOT, "deploy", "nginx"),
                                   app_port=app_port, proxy_port=proxy_port))
    proc = subprocess.Popen([nginx, "-p", prefix, "-c", conf], start_new_session=True)
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{proxy_port}/healthz", timeout=2).read()
            return proc, prefix
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"nginx exited; see {prefix}/error.log") from None
            time.sleep(0.2)
    stop_server(proc)
    raise SystemExit("nginx did not answer within 15 s")


def _slow_client(port: int, stop: threading.Event) -> None:
    """A client that sends its request one header line a second and never finishes."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n")
            while not stop.wait(1.0):
                sock.sendall(b"X-Slow: 1\r\n")
    except OSError:
        pass  # the server gave up on us: that is the point


def slow_client_case(port: int, clients: int, probes: int = 5, timeout: float = 5.0
                     ) -> tuple[int, float | None]:
    """While `clients` slow clients hold connections, how many of `probes` GET /healthz are
    answered within `timeout` s, and their median latency (ms)."""
    stop = threading.Event()
    holders = [threading.Thread(target=_slow_client, args=(port, stop), daemon=True)
               for _ in range(clients)]
    for t in holders:
        t.start()
    time.sleep(2)  # they have connected and are dribbling headers
    latencies = []
    for _ in range(probes):
        started = time.perf_counter()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=timeout).read()
            latencies.append((time.perf_counter() - started) * 1e3)
        except OSError:
            pass
    stop.set()
    for t in holders:
        t.join(10)
    return len(latencies), statistics.median(latencies) if latencies else None


def start_server(port: int, workers: int, threads: int, page_cache: bool = True) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=PG_URL, PYTHONPATH=ROOT,
               BENCH_PAGE_CACHE="1" if page_cache else "0")
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    proc = subprocess.Popen(
        # --worker-connections as in the Procfile: without a cap one gthread worker accepts
        # nearly every keep-alive connection (15 of 16 measured) and the other idles.
        [gunicorn, "--workers", str(workers), "--threads", str(threads),
         "--worker-connections", str(2 * threads), "--bind",
         f"127.0.0.1:{port}", "--log-level", "warning", "--timeout", "180",
         "bench.web:bench_app()"],
        cwd=ROOT, env=env, start_new_session=True)
    deadline = time.time() + 180  # each worker builds its search index first
    try:
        while time.time() < deadline:
            try:
                cache_counts(f"http://127.0.0.1:{port}", workers,  # every worker answers
                             wait=max(1.0, deadline - time.time()))
                return proc
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit("gunicorn exited during start-up") from None
                time.sleep(0.3)
        raise SystemExit("gunicorn did not answer within 180 s")
    except BaseException:
        stop_server(proc)  # never leave a server running behind a failed start
        raise


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


def run_wrk(url: str, seconds: float, connections: int, check: bool = True
            ) -> tuple[float, float]:
    """(median latency ms, requests per second) from one wrk run. `check=False` for the
    warm-up, whose first requests may wait for a cache or the search index to be built."""
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                          "--timeout", "30s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    if not check:
        found = re.search(r"Requests/sec:\s+([\d.]+)", out)
        return 0.0, float(found.group(1)) if found else 0.0
    if "Non-2xx" in out or re.search(r"Socket errors: connect [1-9]|read [1-9]", out):
        raise SystemExit(f"errors while loading {url}:\n{out}")
    if not re.search(r"Requests/sec:\s+[1-9]", out):  # a stall: kept as a measurement
        print(f"  no answer from {url} in {seconds:g} s", flush=True)
        return 0.0, 0.0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M).groups()
    return float(value) * _UNITS[unit], rps


def run_python(url: str, seconds: float, connections: int, check: bool = True
               ) -> tuple[float, float]:
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
    if not latencies:
        if check:
            raise SystemExit(f"{url} answered nothing in {seconds:g} s")
        return 0.0, 0.0
    return statistics.median(latencies) * 1e3, len(latencies) / elapsed


def measure(base: str, pages: dict[str, str], seconds: float, runs: int, connections: int,
            driver, after_warm_up=None) -> dict[str, tuple[float, float]]:
    for url in pages.values():  # warm-up: caches, connection pools, worker imports, and
        deadline = time.monotonic() + 120  # each worker's first search index build
        while driver(base + encode(url), 2, connections, check=False)[1] == 0:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} answered nothing for 120 s")
    if after_warm_up:
        after_warm_up()
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in pages}
    for r in range(runs):
        for name, url in pages.items():
            results[name].append(driver(base + encode(url), seconds, connections))
        print(f"  round {r + 1}/{runs} done", flush=True)
    return {name: (statistics.median(x[0] for x in res), statistics.median(x[1] for x in res))
            for name, res in results.items()}


def table(pages: dict[str, str], medians: dict[str, tuple[float, float]],
          target: float = TARGET_RATIO, hit_rates: dict[str, float] | None = None) -> str:
    trivial_rps = medians["trivial"][1]
    extra = " cache hit rate |" if hit_rates is not None else ""
    lines = ["| page | URL | median latency (ms) | req/s | ratio to trivial |" + extra,
             "|---|---|---:|---:|---:|" + ("---:|" if extra else "")]
    for name, url in pages.items():
        latency, rps = medians[name]
        ratio = rps / trivial_rps
        flag = "" if name == "trivial" or ratio >= target else " ✗"
        row = f"| {name} | `{url}` | {latency:.1f} | {rps:,.0f} | {ratio:.0%}{flag} |"
        if hit_rates is not None:
            rate = hit_rates.get(name)
            row += " – |" if rate is None else f" {rate:.1%} |"
        lines.append(row)
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
    parser.add_argument("--giving", type=float, default=0.0, metavar="R",
                        help="drive R confirmed gifts per second through the real services "
                             "while measuring (target: every page >= 40%% with the cache on)")
    parser.add_argument("--proxy", action="store_true",
                        help="put nginx (deploy/nginx) in front and measure through it")
    parser.add_argument("--slow-clients", type=int, default=0, metavar="N",
                        help="also check /healthz while N clients send one header a second, "
                             "directly and through nginx")
    parser.add_argument("--json", help="also write the medians to this file")
    args = parser.parse_args(argv)

    build_database(args.needs, args.txns, args.reuse)
    project = busiest_project()
    candidates = {name: [u.format(project=project) for u in urls] for name, urls in PAGES.items()}
    for item in args.page:
        name, _, url = item.partition("=")
        candidates[name.strip()] = [url.strip()]

    driver = run_python if args.python_client or not shutil.which("wrk") else run_wrk
    port = free_port(os.environ.get("BENCH_APP_PORTS", ""))
    proc = start_server(port, args.workers, args.threads, page_cache=not args.no_page_cache)
    proxy = None
    base = direct = f"http://127.0.0.1:{port}"  # cache counts always from gunicorn itself
    try:
        if args.proxy or args.slow_clients:
            proxy_port = free_port(os.environ.get("BENCH_PROXY_PORTS", ""))
            proxy, _prefix = start_proxy(port, proxy_port)
            if args.proxy:
                base = f"http://127.0.0.1:{proxy_port}"
        if args.slow_clients:
            print(f"\n/healthz while {args.slow_clients} clients send one header a second:")
            print("| path | answered (of 5, 5 s timeout) | median latency (ms) |")
            print("|---|---:|---:|")
            for label, p in (("gunicorn directly", port), ("through nginx", proxy_port)):
                answered, latency = slow_client_case(p, args.slow_clients)
                shown = "–" if latency is None else f"{latency:.1f}"
                print(f"| {label} | {answered} | {shown} |", flush=True)
            print()
        pages = {}
        for name, urls in candidates.items():
            chosen = next((u for u in urls if status_of(base, u) == 200), None)
            if chosen is None:
                raise SystemExit(f"no candidate URL for {name!r} answers 200: {urls}")
            pages[name] = chosen
        print(f"page cache {'off' if args.no_page_cache else 'on'}; "
              f"{'through nginx; ' if args.proxy else ''}"
              f"measuring with {driver.__name__}, gunicorn {args.workers} workers x "
              f"{args.threads} threads, {args.connections} connections, "
              f"{args.runs} x {args.duration:g} s per URL", flush=True)
        giver = Giver(args.giving) if args.giving > 0 else None
        before: dict[str, list[int]] = {}

        def start_giving() -> None:  # after the warm-up: measure a running site, not a cold one
            nonlocal before
            if giver:
                giver.start()
                print(f"giving {args.giving:g} gifts/s through donors.services.donate_to_need",
                      flush=True)
                before = cache_counts(direct, args.workers)

        load_before = os.getloadavg()[0]
        try:
            medians = measure(base, pages, args.duration, args.runs, args.connections, driver,
                              after_warm_up=start_giving)
        finally:
            load_after = os.getloadavg()[0]
            achieved = giver.stop() if giver and giver.is_alive() else 0.0
        hit_rates = None
        if giver:
            after = cache_counts(direct, args.workers)
            hit_rates = {}
            for name, url in pages.items():
                old_hits, old_misses = before.get(url, [0, 0])
                hits, misses = after.get(url, [0, 0])
                served = (hits - old_hits) + (misses - old_misses)
                if served and name != "trivial":
                    hit_rates[name] = (hits - old_hits) / served
    finally:
        if proxy is not None:
            stop_server(proxy)
        stop_server(proc)
    print()
    target = GIVING_TARGET_RATIO if args.giving > 0 else TARGET_RATIO
    if giver:
        print(f"gifts: {giver.given} confirmed ({achieved:.1f}/s achieved of {args.giving:g}/s "
              f"asked), {giver.refused} refused, {len(giver.errors)} failed"
              + (f" (first: {giver.errors[0]})" if giver.errors else ""))
    print(f"load average (1 min) {load_before:.1f} before the measurement, "
          f"{load_after:.1f} after; {os.cpu_count()} CPUs")
    print(table(pages, medians, target, hit_rates))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({name: {"url": pages[name], "latency_ms": m[0], "rps": m[1]}
                       for name, m in medians.items()}, fh, ensure_ascii=False, indent=2)
    missed = [n for n, (_, rps) in medians.items() if rps / medians["trivial"][1] < target]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
