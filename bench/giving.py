"""Confirmed gifts per second on PostgreSQL from concurrent clients.

    DATABASE_URL=postgresql://… .venv/bin/python bench/giving.py [--clients 32] [--gifts 2000] [--runs 3]

Each run empties the database it is given (its schema is dropped and migrated: never point
it at a database you care about), creates 64 projects and one approved 1:1 配捐 offer big
enough for every gift, starts `--gifts` bank-transfer gifts (not timed), then times
`--clients` threads confirming them: each confirmation is one unit of work with the
donation's ledger transaction, the need's conditional UPDATE and the 配捐 share's ledger
transaction. The chain is verified afterwards and the mirror columns reconciled. Prints
each run and the median; the machine is shared and noisy.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sqlalchemy import create_engine, text  # noqa: E402

from core import migrate  # noqa: E402
from core.clock import now  # noqa: E402
from core.config import Settings  # noqa: E402
from core.db import get_engine, unit_of_work  # noqa: E402
from core.money import Money  # noqa: E402
from donors import services as donors  # noqa: E402
from donors.bank_transfer import BankTransferGateway  # noqa: E402
from donors.gateway import BankAccount  # noqa: E402
from donors.giving import confirm_payment, reference_taken, start_gift  # noqa: E402
from donors.giving_models import GiftPayment  # noqa: E402
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
    with unit_of_work(engine) as s:
        return confirm_payment(s, s.get(GiftPayment, payment_id))


def run(url: str, clients: int, gifts: int) -> float:
    fresh(url)
    payments = prepare(url, gifts)
    # One connection per client (core.db's shared engine pools 30).
    engine = create_engine(url, pool_size=clients, max_overflow=4)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        outcomes = list(pool.map(lambda p: confirm(engine, p), payments))
    elapsed = time.perf_counter() - started
    engine.dispose()
    assert outcomes.count("confirmed") == gifts, outcomes[:5]
    with unit_of_work(get_engine(url)) as s:
        verdict = ledger.verify(s)
        assert verdict.ok and verdict.count == 2 * gifts, verdict
        assert first_mismatch(s) is None
    return gifts / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--gifts", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    url = Settings.from_env().database_url
    if not url.startswith("postgresql"):
        sys.exit("set DATABASE_URL to a scratch PostgreSQL database")
    rates = []
    for i in range(args.runs):
        rate = run(url, args.clients, args.gifts)
        rates.append(rate)
        print(f"run {i + 1}: {rate:,.0f} confirmed gifts/s ({args.gifts} gifts, "
              f"{args.clients} clients, chain verified: {2 * args.gifts} txns)", flush=True)
    print(f"median: {statistics.median(rates):,.0f} confirmed gifts/s")


if __name__ == "__main__":
    main()
