"""Confirmed gifts per second on PostgreSQL from concurrent clients.

    DATABASE_URL=postgresql://… .venv/bin/python bench/giving.py [--clients 32] [--gifts 2000] [--runs 3]
        [--processes 1]

Each run empties the database it is given (its schema is dropped and migrated: never point
it at a database you care about), creates 64 projects and one approved 1:1 配捐 offer big
enough for every gift, starts `--gifts` bank-transfer gifts (not timed), then times
`--clients` threads confirming them with `donors.giving.confirm_and_wait`: each gift is
the donation's ledger transaction, the need's conditional update and the 配捐 share's
ledger transaction, and the confirmations a process makes at the same moment are queued
and applied together in one unit of work (donors.gift_batches). A gift counts once its
outcome is back, i.e. once the unit of work that confirmed it committed. The chain is
verified afterwards and the mirror columns reconciled. Prints each run and the median;
the machine is shared and noisy.

The clients are threads of one process (`--processes 1`, the default: Python runs one
thread at a time, so that process's CPU per gift caps the rate) or spread over several
processes (`--processes N`, as gunicorn workers would be). Each run also prints where the
time goes: the CPU seconds per gift of the client processes and of their PostgreSQL
backends (read from /proc), SQL statements per gift, the mean batch (gifts per applying
unit of work) and the load average.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import create_engine, event, text  # noqa: E402

from core import migrate  # noqa: E402
from core.clock import now  # noqa: E402
from core.config import Settings  # noqa: E402
from core.db import get_engine, unit_of_work  # noqa: E402
from core.money import Money  # noqa: E402
from donors import gift_batches  # noqa: E402
from donors import services as donors  # noqa: E402
from donors.bank_transfer import BankTransferGateway  # noqa: E402
from donors.gateway import BankAccount  # noqa: E402
from donors.giving import confirm_and_wait, reference_taken, start_gift  # noqa: E402
from donors.match_offers import approve_offer, create_offer  # noqa: E402
from funds import ledger  # noqa: E402
from needs import services as needs  # noqa: E402
from readside.reconcile import first_mismatch  # noqa: E402

ACCOUNT = BankAccount("善联慈善信息平台", "基准测试银行", "6222 0000 1111 2222")
REGION = "山东省/滨州市/邹平市/黄山街道/齐明社区"


def fresh(url: str) -> None:
    with get_engine(url).begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(url)


def prepare(url: str, gifts: int) -> list[int]:
    with unit_of_work(get_engine(url)) as s:
        organisation = needs.create_organisation(s, "基准机构", "山东省/滨州市/邹平市",
                                                 status="approved")
        need_ids = []
        for i in range(64):
            need = needs.create_need(s, organisation, kind="project", title=f"项目{i}",
                                     amount=10**12, category="助学", region=REGION)
            needs.submit(s, need)
            needs.verify(s, need)
            need_ids.append(need.id)
        firm = donors.create_enterprise(s, "基准企业", "山东省/滨州市")
        offer = create_offer(s, firm, title="1:1 配捐", ratio_pct=100,
                             total_cap=Money.yuan(10**9), starts_at=now() - timedelta(days=1),
                             ends_at=now() + timedelta(days=1))
        approve_offer(s, offer)
    from needs.models import Need

    payments = []
    with unit_of_work(get_engine(url)) as s:
        gateway = BankTransferGateway(ACCOUNT, is_taken=reference_taken(s))
        for i in range(gifts):
            started = start_gift(s, gateway, s.get(Need, need_ids[i % 64]), Money.yuan("100"),
                                 name=f"捐赠者{i}", contact=f"d{i}@example.cn")
            payments.append(started.payment.id)
    return payments


def confirm(engine, payment_id: int) -> str:
    """One client's confirmation: its intent committed, then applied in a batch by whoever
    holds the applier's lock (donors.gift_batches), and its outcome read back."""
    return confirm_and_wait(engine, payment_id)


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process on this machine, 0 if unreadable."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _client(url: str, clients: int, payments: list[int], ready, go, out) -> None:
    """One client process: `clients` threads confirming `payments`; reports its outcomes,
    its CPU seconds, its backends' CPU seconds and its statement count."""
    engine = create_engine(url, pool_size=clients, max_overflow=4)
    backends: list[int] = []
    statements = [0]

    @event.listens_for(engine, "connect")
    def _remember(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        backends.append(cursor.fetchone()[0])
        cursor.close()

    @event.listens_for(engine, "before_cursor_execute")
    def _count(*_args):
        statements[0] += 1

    batches = [0]
    confirm_batch = gift_batches.confirm_batch

    def _counted_batch(*args, **kwargs):  # one unit of work of combined confirmations
        batches[0] += 1
        return confirm_batch(*args, **kwargs)
    gift_batches.confirm_batch = _counted_batch

    # Open every connection before the clock starts.
    held = [engine.connect() for _ in range(clients)]
    for connection in held:
        connection.close()
    ready.set()
    go.wait()
    cpu, backend_cpu = time.process_time(), sum(_proc_cpu(p) for p in backends)
    counted = statements[0]
    with ThreadPoolExecutor(max_workers=clients) as pool:
        outcomes = list(pool.map(lambda p: confirm(engine, p), payments))
    out.put((outcomes, time.process_time() - cpu,
             sum(_proc_cpu(p) for p in backends) - backend_cpu, statements[0] - counted,
             batches[0]))
    engine.dispose()


def run(url: str, clients: int, gifts: int, processes: int = 1) -> dict:
    fresh(url)
    payments = prepare(url, gifts)
    context = multiprocessing.get_context("fork")
    go, out = context.Event(), context.Queue()
    workers = []
    for i in range(processes):
        ready = context.Event()
        share = clients // processes + (1 if i < clients % processes else 0)
        worker = context.Process(target=_client, args=(url, share, payments[i::processes],
                                                       ready, go, out))
        worker.start()
        ready.wait()
        workers.append(worker)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    go.set()
    results = [out.get() for _ in workers]
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.join()
    outcomes = [o for r in results for o in r[0]]
    assert outcomes.count("confirmed") == gifts, outcomes[:5]
    with unit_of_work(get_engine(url)) as s:
        verdict = ledger.verify(s)
        assert verdict.ok and verdict.count == 2 * gifts, verdict
        assert first_mismatch(s) is None
    return {"rate": gifts / elapsed, "load": load,
            "batch": gifts / sum(r[4] for r in results),
            "client_ms": 1000 * sum(r[1] for r in results) / gifts,
            "backend_ms": 1000 * sum(r[2] for r in results) / gifts,
            "statements": sum(r[3] for r in results) / gifts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--gifts", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--processes", type=int, default=1,
                        help="client processes the --clients threads are spread over")
    args = parser.parse_args()
    url = Settings.from_env().database_url
    if not url.startswith("postgresql"):
        sys.exit("set DATABASE_URL to a scratch PostgreSQL database")
    if not 1 <= args.processes <= args.clients:
        sys.exit("--processes must be between 1 and --clients")
    get_engine(url).dispose()  # no pooled connection crosses the fork
    runs = []
    for i in range(args.runs):
        result = run(url, args.clients, args.gifts, args.processes)
        get_engine(url).dispose()
        runs.append(result)
        print(f"run {i + 1}: {result['rate']:,.0f} confirmed gifts/s ({args.gifts} gifts, "
              f"{args.clients} clients in {args.processes} process(es), chain verified: "
              f"{2 * args.gifts} txns); per gift: client CPU {result['client_ms']:.1f} ms, "
              f"PostgreSQL backends' CPU {result['backend_ms']:.1f} ms, "
              f"{result['statements']:.1f} statements; mean batch {result['batch']:.1f} gifts; "
              f"load average {result['load']:.1f}",
              flush=True)
    print(f"median: {statistics.median(r['rate'] for r in runs):,.0f} confirmed gifts/s; "
          f"per gift client CPU {statistics.median(r['client_ms'] for r in runs):.1f} ms, "
          f"backends' CPU {statistics.median(r['backend_ms'] for r in runs):.1f} ms, "
          f"{statistics.median(r['statements'] for r in runs):.1f} statements, "
          f"mean batch {statistics.median(r['batch'] for r in runs):.1f} gifts; "
          f"load average {min(r['load'] for r in runs):.1f}–{max(r['load'] for r in runs):.1f}")


if __name__ == "__main__":
    main()
