"""Search latency over a synthetic index of needs (default 100k).

    .venv/bin/python bench/search.py [--size 100000] [--runs 7] [--seed 7]

Builds `needs.search.SearchIndex` from seeded synthetic rows (realistic titles, stories,
programmes, organisations and regions), then times `index.search(q, 50)` for a set of
queries — exact 汉字, typos, 全拼, 首字母, traditional characters, two-token queries, garbage —
and prints the median and the worst of `--runs` runs per query, plus the build time and the
resident memory the index adds: each gunicorn worker on each host holds and builds its own
(see README, "Several gunicorn hosts").
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from core.regions import KNOWN  # noqa: E402
from needs.search import SearchIndex, SearchRow  # noqa: E402

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
           "营养午餐", "yinyangwucan", "小禾苗的电脑", "!!!", "qqqqq"]


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    data = rows(args.size, args.seed)
    gc.collect()
    before = _rss()
    t0 = time.perf_counter()
    index = SearchIndex.build(data)
    build = time.perf_counter() - t0
    gc.collect()
    grown = _rss() - before
    print(f"index of {len(index):,} needs built in {build:.2f} s "
          f"({len(index.keys):,} grams, {len(index.postings):,} postings); "
          f"resident memory +{grown / 2**20:,.0f} MiB — paid by every worker of every host")
    print(f"{'query':<16}{'hits':>6}{'median ms':>12}{'max ms':>9}")
    medians = []
    for q in QUERIES:
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            hits = index.search(q, 50)
            times.append((time.perf_counter() - t) * 1000)
        med = statistics.median(times)
        medians.append(med)
        print(f"{q:<16}{len(hits):>6}{med:>12.1f}{max(times):>9.1f}")
    print(f"all queries: median of medians {statistics.median(medians):.1f} ms, "
          f"worst median {max(medians):.1f} ms")


if __name__ == "__main__":
    main()
