"""Duplicate-beneficiary detection over a synthetic population (default 1,000,000).

    .venv/bin/python bench/duplicates.py [--size 1000000] [--queries 2000] [--seed 7]
                                         [--threshold 80] [--runs 3]
                                         [--database-url postgresql://…/scratch]

Generates beneficiaries (names drawn from weighted common surnames and given-name
characters, birth dates 1940-2023, addresses in the seed programmes' towns, 70% with a
valid 身份证号 stored only as its HMAC), builds `needs.duplicates.DuplicateIndex`, then
queries it with seeded near-duplicates of indexed people — a mistyped name character,
swapped characters or birth-date digits, a pinyin-identical name, the same ID number under
another spelling, a mistyped birth date — and with as many new, different people. Prints the
build time, the index's memory (RSS growth), median and p95 query latency (over --runs
passes), and recall and precision at several thresholds, per kind of near-duplicate.

With --database-url (an empty scratch database: it is migrated and filled), the same
population is written to beneficiary/beneficiary_private (COPY on PostgreSQL), and what a
submission costs is timed end to end: `needs.duplicate_check.check_beneficiary` for one new
beneficiary (the index's catch-up query, the candidates, the DuplicateFlag rows) plus its
commit, for --db-queries near-duplicates and as many new people, with the recall and
precision of the flags it writes at --threshold.
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import date

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pypinyin import lazy_pinyin  # noqa: E402

from core.identifiers import generate_id_number  # noqa: E402
from needs.duplicates import Record, build_index, id_number_hash  # noqa: E402

KEY = b"bench-key"
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于"
            "蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹")
GIVEN = ("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞辉健波宁浩亮宇佳欣"
         "怡梓涵子轩浩然雨晨思彤一诺雅琪俊豪嘉乐安禾星溪舟林月文博瑞泽晓梦雪婷琳颖慧鑫磊"
         "凯斌斌海峰志国建新永春晶丹倩莉蕾璐露莹淑珍凤秋菊荣昊天宏")
# Extra characters only for homophone substitutions (章 for 张, 玮 for 伟, …).
HOMOPHONE_SOURCE = GIVEN + SURNAMES + ("章彰炜韦薇卫维娅亚琳霖淋麟敏闵悯旻晨辰臣宸涵晗含寒"
                                       "轩萱宣暄杰洁婕捷颖莹盈赢宇雨语羽玉钰煜毓欣馨新心")
TOWNS = [("山东省", "滨州市", "滨城区", "371602"), ("山东省", "滨州市", "邹平市", "371626"),
         ("山东省", "潍坊市", "奎文区", "370705"), ("山东省", "聊城市", "东昌府区", "371502"),
         ("广西壮族自治区", "北海市", "合浦县", "450521"), ("山东省", "滨州市", "惠民县", "371621")]
STREETS = ("黄河", "渤海", "长江", "东风", "胜利", "人民", "建设", "新华", "中山", "还珠", "齐明",
           "廉州", "侯营", "幸福", "和平", "文化", "解放", "青年", "振兴", "团结")
KINDS = ("typo", "swap", "pinyin", "same_id", "birth_typo")
THRESHOLDS = (70, 75, 80, 85, 90)


def rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class People:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.surname_weights = [1 / (i + 1) ** 0.8 for i in range(len(SURNAMES))]
        self.homophones = defaultdict(list)
        for char in dict.fromkeys(HOMOPHONE_SOURCE):
            self.homophones[lazy_pinyin(char)[0]].append(char)
        self.pinyin = {c: lazy_pinyin(c)[0] for c in dict.fromkeys(HOMOPHONE_SOURCE)}
        self.start = date(1940, 1, 1).toordinal()
        self.span = date(2023, 12, 31).toordinal() - self.start

    def name(self) -> str:
        rng = self.rng
        surname = rng.choices(SURNAMES, self.surname_weights)[0]
        return surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2, 2))))

    def address(self, town) -> str:
        rng = self.rng
        province, city, county, _ = town
        street = rng.choice(STREETS) + rng.choice("一二三四五六七八九") + rng.choice(("路", "街"))
        tail = f"{rng.randint(1, 300)}号"
        if rng.random() < 0.6:
            tail += f"{rng.randint(1, 20)}号楼{rng.randint(1, 6)}单元{rng.randint(1, 30)}0{rng.randint(1, 4)}室"
        return f"{province}{city}{county}{street}{tail}"

    def person(self, record_id: int):
        rng = self.rng
        town = rng.choice(TOWNS)
        born = date.fromordinal(self.start + rng.randrange(self.span))
        id_hash = None
        if rng.random() < 0.7:
            id_hash = id_number_hash(generate_id_number(rng, born, town[3]), KEY)
        return (record_id, rng.randint(1, 2000), self.name(), born, self.address(town), id_hash)

    # Near-duplicates of an indexed person, as another organisation would enter them.
    def variant(self, row, kind: str) -> Record:
        rng = self.rng
        _id, _org, name, born, address, id_hash = row
        if kind == "typo":
            i = rng.randrange(1, len(name))
            name = name[:i] + rng.choice([c for c in GIVEN if c != name[i]]) + name[i + 1:]
            return Record(None, 9999, name, born, address, None)
        if kind == "swap":
            if rng.random() < 0.5 and len(name) == 3:
                name = name[0] + name[2] + name[1]
            else:
                text = f"{born:%Y%m%d}"
                i = rng.randrange(4, 7)  # swap two digits of the month or day
                swapped = text[:i] + text[i + 1] + text[i] + text[i + 2:]
                try:
                    born = date(int(swapped[:4]), int(swapped[4:6]), int(swapped[6:]))
                except ValueError:
                    name = name[::-1] if len(name) == 2 else name[0] + name[2] + name[1]
            return Record(None, 9999, name, born, address, None)
        if kind == "pinyin":
            i = rng.randrange(len(name))
            others = [c for c in self.homophones[self.pinyin.get(name[i], "")] if c != name[i]]
            if others:
                name = name[:i] + rng.choice(others) + name[i + 1:]
            short = address.split("省", 1)[-1].split("自治区", 1)[-1]  # written without province
            return Record(None, 9999, name, born, short, None)
        if kind == "same_id":
            # Same person under another spelling and another address, ID number recorded.
            i = rng.randrange(len(name))
            name = name[:i] + rng.choice(GIVEN) + name[i + 1:]
            return Record(None, 9999, name, None, self.address(rng.choice(TOWNS)), id_hash)
        # birth_typo: one digit of the day mistyped.
        for _ in range(10):
            text = f"{born:%Y%m%d}"
            candidate = text[:7] + rng.choice([d for d in "0123456789" if d != text[7]])
            try:
                born = date(int(candidate[:4]), int(candidate[4:6]), int(candidate[6:]))
                break
            except ValueError:
                continue
        return Record(None, 9999, name, born, address, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=2000,
                        help="near-duplicate queries (as many different people are added)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threshold", type=float, default=80.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database-url", default=None,
                        help="an empty scratch database: also time check_beneficiary end to end")
    parser.add_argument("--db-queries", type=int, default=300,
                        help="near-duplicates (and as many new people) submitted in that mode")
    args = parser.parse_args()

    people = People(args.seed)
    started = time.perf_counter()
    rows = [people.person(i) for i in range(1, args.size + 1)]
    generated = time.perf_counter() - started
    with_id = sum(1 for r in rows if r[5])
    originals = people.rng.sample(rows, min(args.queries, args.size))
    queries = []
    for n, row in enumerate(originals):
        kind = KINDS[n % len(KINDS)]
        while kind == "same_id" and row[5] is None:  # the same ID needs someone with one
            row = people.rng.choice(rows)
        queries.append((people.variant(row, kind), row[0], kind))
    fresh = [people.person(None) for _ in range(len(queries))]
    queries += [(Record(*row), None, "different") for row in fresh]

    if args.database_url:
        database_mode(args.database_url, people, rows, queries, args.db_queries, args.threshold)
        return

    gc.collect()
    before = rss_mib()
    started = time.perf_counter()
    index = build_index(rows)
    built = time.perf_counter() - started
    gc.collect()
    memory = rss_mib() - before

    low = min(THRESHOLDS + (args.threshold,))
    latencies: list[float] = []
    results = []
    for run in range(args.runs):
        for record, _original, _kind in queries:
            t0 = time.perf_counter()
            found = index.candidates(record, threshold=low)
            latencies.append((time.perf_counter() - t0) * 1000)
            if run == 0:
                results.append(found)

    print(f"beneficiaries: {len(index):,} ({with_id:,} with an ID hash); generated in "
          f"{generated:.1f} s")
    print(f"index build: {built:.1f} s; memory (RSS growth): {memory:,.0f} MiB")
    latencies.sort()
    print(f"query latency over {len(latencies):,} queries ({args.runs} runs): "
          f"median {statistics.median(latencies):.2f} ms, "
          f"p95 {latencies[int(0.95 * len(latencies))]:.2f} ms, max {latencies[-1]:.2f} ms")
    print()
    print("threshold | recall (all) | " + " | ".join(KINDS) + " | precision | flagged new people")
    for threshold in sorted(set(THRESHOLDS + (args.threshold,))):
        found_by_kind: Counter = Counter()
        total_by_kind: Counter = Counter()
        true_pairs = all_pairs = flagged_new = 0
        for (_record, original, kind), found in zip(queries, results, strict=True):
            ids = [c for c, score, _ in found if score >= threshold]
            all_pairs += len(ids)
            if original is None:
                flagged_new += bool(ids)
                continue
            total_by_kind[kind] += 1
            if original in ids:
                found_by_kind[kind] += 1
                true_pairs += 1
        recall = sum(found_by_kind.values()) / max(1, sum(total_by_kind.values()))
        per_kind = " | ".join(f"{found_by_kind[k] / max(1, total_by_kind[k]):.3f}" for k in KINDS)
        precision = true_pairs / all_pairs if all_pairs else 1.0
        mark = " ←" if threshold == args.threshold else ""
        print(f"{threshold:9.0f} | {recall:12.3f} | {per_kind} | {precision:9.3f} | "
              f"{flagged_new} of {len(fresh)}{mark}")


AGE_BANDS = ((5, "0-5"), (11, "6-11"), (14, "12-14"), (17, "15-17"), (59, "18-59"),
             (79, "60-79"))


def _age_band(born: date | None) -> str:
    age = 2026 - born.year if born else 30
    return next((band for top, band in AGE_BANDS if age <= top), "80+")


def database_mode(url: str, people: People, rows: list, queries: list, count: int,
                  threshold: float) -> None:
    """Fill a scratch database with `rows`, then time check_beneficiary on new people."""
    from sqlalchemy import func, insert, text
    from sqlmodel import Session, select

    from core.db import get_engine
    from core.migrate import upgrade
    from needs import duplicate_check
    from needs.models import Beneficiary, BeneficiaryPrivate, DuplicateFlag, Organisation

    upgrade(url)
    engine = get_engine(url)
    with Session(engine) as s:
        if s.exec(select(func.count()).select_from(Beneficiary)).one():
            raise SystemExit("--database-url must name an empty scratch database")
        orgs = [Organisation(name=f"基准测试机构{i}", region="山东省/滨州市", status="approved")
                for i in range(2)]
        s.add_all(orgs)
        s.commit()
        org_ids = [o.id for o in orgs]
    started = time.perf_counter()
    public = ((rid, f"B-{rid}", "某", _age_band(born), True, "山东省/滨州市", org_ids[0])
              for rid, _org, _name, born, _address, _hash in rows)
    private = ((rid, name, born, address, id_hash)
               for rid, _org, name, born, address, id_hash in rows)
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cur:
                with cur.copy("COPY beneficiary (id, code, pseudonym, age_band, is_minor, "
                              "region, organisation_id, created_at) FROM STDIN") as copy:
                    for row in public:
                        copy.write_row((*row, "2026-01-01"))
                with cur.copy("COPY beneficiary_private (beneficiary_id, full_name, birth_date, "
                              "address, id_hash, id_number, guardian, school, guardian_phone) "
                              "FROM STDIN") as copy:
                    for row in private:
                        copy.write_row((*row, "", "", "", ""))
                cur.execute("SELECT setval(pg_get_serial_sequence('beneficiary', 'id'), "
                            "(SELECT max(id) FROM beneficiary))")
                cur.execute("ANALYZE beneficiary")
                cur.execute("ANALYZE beneficiary_private")
            raw.commit()
        finally:
            raw.close()
    else:
        keys_b = ("id", "code", "pseudonym", "age_band", "is_minor", "region", "organisation_id")
        keys_p = ("beneficiary_id", "full_name", "birth_date", "address", "id_hash")
        with engine.begin() as conn:
            batch_b, batch_p = [], []
            for b, p in zip(public, private, strict=True):
                batch_b.append(dict(zip(keys_b, b, strict=True)))
                batch_p.append(dict(zip(keys_p, p, strict=True)))
                if len(batch_b) == 20_000:
                    conn.execute(insert(Beneficiary), batch_b)
                    conn.execute(insert(BeneficiaryPrivate), batch_p)
                    batch_b, batch_p = [], []
            if batch_b:
                conn.execute(insert(Beneficiary), batch_b)
                conn.execute(insert(BeneficiaryPrivate), batch_p)
    print(f"database: {engine.dialect.name}; {len(rows):,} beneficiaries written in "
          f"{time.perf_counter() - started:.1f} s")

    duplicate_check.forget_indexes()
    started = time.perf_counter()
    with Session(engine) as s:
        duplicate_check.index_for(s)
    print(f"index built from the database (first check of the process): "
          f"{time.perf_counter() - started:.1f} s")

    near = queries[:count]
    fresh = [q for q in queries if q[1] is None][:count]
    latencies, results = [], []
    for record, original, kind in near + fresh:
        with Session(engine) as s:  # the submission writes its beneficiary (not timed)
            person = Beneficiary(code="", pseudonym="某", age_band=_age_band(record.birth_date),
                                 region="山东省/滨州市", organisation_id=org_ids[1])
            s.add(person)
            s.flush()
            person.code = f"B-{person.id}"
            s.add(BeneficiaryPrivate(beneficiary_id=person.id, full_name=record.name,
                                     birth_date=record.birth_date, address=record.address,
                                     id_hash=record.id_hash))
            s.commit()
            new_id = person.id
        with Session(engine) as s:
            t0 = time.perf_counter()
            duplicate_check.check_beneficiary(s, new_id, threshold)
            s.commit()
            latencies.append((time.perf_counter() - t0) * 1000)
            flagged = s.exec(select(DuplicateFlag.other_id)
                             .where(DuplicateFlag.beneficiary_id == new_id)).all()
        results.append((original, kind, set(flagged)))
    latencies.sort()
    print(f"check_beneficiary + commit over {len(latencies):,} submissions: "
          f"median {statistics.median(latencies):.2f} ms, "
          f"p95 {latencies[int(0.95 * len(latencies))]:.2f} ms, max {latencies[-1]:.2f} ms")
    found = sum(1 for original, _k, ids in results if original is not None and original in ids)
    pairs = sum(len(ids) for _o, _k, ids in results)
    true_pairs = sum(1 for original, _k, ids in results if original in ids)
    flagged_new = sum(1 for original, _k, ids in results if original is None and ids)
    print(f"at threshold {threshold:.0f}: recall {found / max(1, len(near)):.3f}, "
          f"precision {true_pairs / pairs if pairs else 1.0:.3f}, "
          f"new people flagged {flagged_new} of {len(fresh)}")
    with engine.begin() as conn:  # leave the scratch database as it was found: empty
        conn.execute(text("DELETE FROM duplicate_flag"))


if __name__ == "__main__":
    main()
