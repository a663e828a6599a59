"""Benchmark of the transparency log (issue 13). Prints three tables:

1. Appends per second with the Merkle tree maintained, against the same run with the tree
   switched off (funds.tree_store.leaf_rows replaced by one that adds no node); each append is its own
   unit of work, as a donation is. Short rounds in ABBA order, so drift hits both alike;
   wall time and this process's CPU time (less sensitive to other load) are both shown.
   Target: the tree costs at most 10%.
2. Proof latency at --leaves (default 1,000,000) transactions: synthetic leaves inserted
   straight into ledger_tree_node (the brief allows it), then inclusion and consistency
   proofs and roots for random sizes through funds.tree_store, as the endpoints call them
   (p50 / p90 / p99 over --queries). Target: p50 under 10 ms.
3. Offline verification of a --file-txns (default 1,000,000) transaction ledger file with
   its signed checkpoint: the published script (web/static/verify_ledger.py) and
   `flask ledger verify FILE --checkpoint C --key K`'s library verifier.

    .venv/bin/python bench/tlog.py                       # SQLite in a temp folder
    .venv/bin/python bench/tlog.py --database-url postgresql://postgres@127.0.0.1:5432/scratch
    .venv/bin/python bench/tlog.py --skip-file --appends 500 --runs 5

--database-url is DROPPED and recreated (schema public): point it at a scratch database.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from sqlalchemy import insert, text  # noqa: E402

from core import migrate  # noqa: E402
from core.db import dispose_all, get_engine, unit_of_work  # noqa: E402
from funds import ledger, merkle, tree_store  # noqa: E402
from funds.ledger_format import GENESIS, to_line, txn_hash  # noqa: E402
from funds.signed_note import Checkpoint, Signer  # noqa: E402
from funds.tlog_models import LedgerTreeNode  # noqa: E402


def fresh_database(url: str | None, folder: str, name: str) -> str:
    if url is None:
        url = f"sqlite:///{os.path.join(folder, name + '.db')}"
    else:
        url = Settings_url(url)
        with get_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(url)
    return url


def Settings_url(url: str) -> str:  # noqa: N802 — the app's own URL normalisation
    from core.config import Settings

    return Settings.from_env({"DATABASE_URL": url}).database_url


def appends_per_second(url: str, n: int, with_tree: bool, offset: int) -> tuple[float, float]:
    """(appends per wall second, appends per CPU second of this process)."""
    original = tree_store.leaf_rows
    if not with_tree:
        tree_store.leaf_rows = lambda *_args, **_kw: []
    try:
        engine = get_engine(url)
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(offset, offset + n):
            with unit_of_work(engine) as s:
                ledger.append(s, "donation", f"donation:{i}",
                              [(f"donor:d{i % 97}", -(100 + i)), ("need:W-1", 100 + i)],
                              memo="bench")
        return n / (time.perf_counter() - start), n / (time.process_time() - cpu)
    finally:
        tree_store.leaf_rows = original


def bench_appends(args, folder: str) -> None:
    """Two databases, one per mode, so the tree-off one never leaves gaps in a tree."""
    urls = {True: fresh_database(args.database_url, folder, "with_tree")}
    if args.database_url:
        # One PostgreSQL database: run the without-tree rounds on the same chain, and
        # rebuild the tree afterwards (sync) so the with-tree rounds stay correct.
        urls[False] = urls[True]
    else:
        urls[False] = fresh_database(None, folder, "without_tree")
    # Warm up: start both ledgers at the same size.
    appends_per_second(urls[True], 200, True, 0)
    if urls[False] != urls[True]:
        appends_per_second(urls[False], 200, False, 0)
    rates: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    offset = 1_000
    for round_no in range(args.runs):
        # ABBA order, so a trend in the machine's load hits both modes alike.
        for mode in ((True, False) if round_no % 2 == 0 else (False, True)):
            rates[mode].append(appends_per_second(urls[mode], args.appends, mode, offset))
            offset += args.appends
            if urls[False] == urls[True] and not mode:
                with unit_of_work(get_engine(urls[True])) as s:
                    ledger._lock_chain(s)
                    tree_store.sync(s)
    wall = {m: statistics.median(r[0] for r in rates[m]) for m in rates}
    cpu = {m: statistics.median(r[1] for r in rates[m]) for m in rates}
    print(f"\n## Appends per second ({args.appends} per round, {args.runs} rounds each, ABBA; "
          f"one unit of work each; {engine_name(urls[True])})")
    print("| tree | median appends/s (wall) | median appends per CPU-second | wall per round |")
    print("|---|---:|---:|---|")
    for mode, label in ((True, "maintained"), (False, "off")):
        print(f"| {label} | {wall[mode]:,.0f} | {cpu[mode]:,.0f} | "
              f"{', '.join(f'{r[0]:,.0f}' for r in rates[mode])} |")
    print(f"cost of the tree: {100 * (1 - wall[True] / wall[False]):.1f}% wall, "
          f"{100 * (1 - cpu[True] / cpu[False]):.1f}% CPU (target ≤ 10%)")
    with unit_of_work(get_engine(urls[True])) as s:
        size = tree_store.size(s)
        hashes = [merkle.leaf_hash(bytes.fromhex(h)) for (h,) in s.execute(
            text("SELECT hash FROM ledger_txn ORDER BY seq"))]
        assert tree_store.root(s, size) == merkle.root(hashes), "tree differs from ledger"


def engine_name(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite (WAL)"


def load_synthetic_tree(url: str, leaves: int, batch: int = 50_000) -> None:
    builder = tree_store._Builder([])
    rows = []
    engine = get_engine(url)
    with unit_of_work(engine) as s:
        for i in range(leaves):
            rows.extend(builder.push(i, merkle.leaf_hash(i.to_bytes(32, "big"))))
            if len(rows) >= batch:
                s.execute(insert(LedgerTreeNode), rows)
                rows = []
        if rows:
            s.execute(insert(LedgerTreeNode), rows)
    if url.startswith("postgresql"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE ledger_tree_node"))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def bench_proofs(args, folder: str) -> None:
    url = fresh_database(args.database_url, folder, "proofs")
    start = time.perf_counter()
    load_synthetic_tree(url, args.leaves)
    load_s = time.perf_counter() - start
    rng = random.Random(7)
    n = args.leaves
    timings: dict[str, list[float]] = {"inclusion": [], "consistency": [], "root": []}
    engine = get_engine(url)
    with unit_of_work(engine) as s:
        assert tree_store.size(s) == n
        for _ in range(args.queries):
            size = rng.randint(n // 2, n)
            index = rng.randrange(size)
            old = rng.randint(1, size)
            t0 = time.perf_counter()
            path = tree_store.inclusion_proof(s, index, size)
            t1 = time.perf_counter()
            tree_store.consistency_proof(s, old, size)
            t2 = time.perf_counter()
            tree_store.root(s, size)
            t3 = time.perf_counter()
            timings["inclusion"].append(t1 - t0)
            timings["consistency"].append(t2 - t1)
            timings["root"].append(t3 - t2)
            assert len(path) <= 2 * n.bit_length()
        # One spot check against a recomputation, so the timings are of correct proofs.
        size, index = n, rng.randrange(n)
        path = tree_store.inclusion_proof(s, index, size)
        assert merkle.verify_inclusion(index, size, merkle.leaf_hash(index.to_bytes(32, "big")),
                                       path, tree_store.root(s, size))
    print(f"\n## Proof latency at {n:,} leaves ({engine_name(url)}; tree loaded in "
          f"{load_s:.0f} s; {args.queries} random queries, sizes in [n/2, n])")
    print("| query | p50 | p90 | p99 |")
    print("|---|---:|---:|---:|")
    for name, values in timings.items():
        print(f"| {name} | {1000 * pct(values, .5):.2f} ms | {1000 * pct(values, .9):.2f} ms | "
              f"{1000 * pct(values, .99):.2f} ms |")


def write_ledger_file(path: str, n: int) -> tuple[int, bytes]:
    """A hash-chained ledger of n canonical lines, and its Merkle root."""
    builder = merkle.RootBuilder()
    prev = GENESIS
    with open(path, "w", encoding="utf-8") as out:
        for seq in range(1, n + 1):
            txn = {"seq": seq, "at": "2026-11-24T10:00:00Z", "kind": "donation",
                   "ref": f"donation:{seq}", "memo": "微心愿 书包",
                   "postings": [{"account": f"donor:d{seq % 997}", "amount": -15000},
                                {"account": "need:W-1", "amount": 15000}], "prev": prev}
            txn["hash"] = prev = txn_hash(txn)
            out.write(to_line(txn) + "\n")
            builder.push(merkle.leaf_hash(bytes.fromhex(prev)))
    return n, builder.root()


def bench_file(args, folder: str) -> None:
    path = os.path.join(folder, "ledger.jsonl")
    start = time.perf_counter()
    size, root = write_ledger_file(path, args.file_txns)
    write_s = time.perf_counter() - start
    signer = Signer.generate("bench.example/ledger")
    note_path = os.path.join(folder, "checkpoint.txt")
    with open(note_path, "w", encoding="utf-8") as out:
        out.write(signer.sign_note(Checkpoint("bench.example/ledger", size, root).text()))
    vkey = str(signer.verifier)
    commands = {
        "published script (verify_ledger.py)":
            [sys.executable, os.path.join(ROOT, "web", "static", "verify_ledger.py"), path,
             note_path, vkey],
        "library verifier (ledger verify --checkpoint)":
            [sys.executable, "-c",
             "import sys; from funds.witness import verify_file_checkpoint as v; "
             "from funds.signed_note import parse_verifier as p; "
             "r = v(sys.argv[1], open(sys.argv[2], 'rb').read(), p(sys.argv[3])); "
             "print(r); sys.exit(0 if r.ok else 1)", path, note_path, vkey],
    }
    results = {name: [] for name in commands}
    for _ in range(args.file_runs):
        for name, command in commands.items():
            t0 = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            results[name].append(time.perf_counter() - t0)
            assert done.returncode == 0, (name, done.stderr[-500:])
    mb = os.path.getsize(path) / 1e6
    print(f"\n## Offline verification of a {size:,}-transaction file ({mb:.0f} MB, written in "
          f"{write_s:.0f} s) with its signed checkpoint; {args.file_runs} run(s)")
    print("| verifier | median wall | runs |")
    print("|---|---:|---|")
    for name, values in results.items():
        print(f"| {name} | {statistics.median(values):.1f} s | "
              f"{', '.join(f'{v:.1f}' for v in values)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="a SCRATCH PostgreSQL database (dropped)")
    parser.add_argument("--appends", type=int, default=250)
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--file-txns", type=int, default=1_000_000)
    parser.add_argument("--file-runs", type=int, default=3)
    parser.add_argument("--skip-appends", action="store_true")
    parser.add_argument("--skip-proofs", action="store_true")
    parser.add_argument("--skip-file", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shanlian-tlog-bench-") as folder:
        if not args.skip_appends:
            bench_appends(args, folder)
        if not args.skip_proofs:
            bench_proofs(args, folder)
        dispose_all()
        if not args.skip_file:
            bench_file(args, folder)
    print("\n(2-core machine shared with other work: numbers are noisy; medians shown.)")



if __name__ == "__main__":
    main()
