"""Speed of the giving components that run per request or per upload (no database).

    .venv/bin/python bench/giving_components.py [--runs 5] [--lines 5000] [--seed 7]

Prints the median and the worst of `--runs` runs for: one receipt PDF, a 200-gift yearly
statement, reconciling a synthetic statement of `--lines` lines against as many expected
transfers (60% quote their reference, 40% lost it and half of those have a typo in the
payer's name), and a FIFO trail of 10,000 gifts over 1,000 disbursements. The machine is
shared and noisy: read medians, not single runs.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from donors.bank_transfer import new_reference  # noqa: E402
from donors.receipts import Giver, ReceiptData, StatementLine, receipt_pdf, statement_pdf  # noqa: E402
from donors.statements import AMOUNT_AND_NAME, BankLine, ExpectedPayment, reconcile  # noqa: E402
from donors.trail import fifo_trail  # noqa: E402

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"
HOMOPHONE = {"明": "铭", "伟": "玮", "静": "靜", "丽": "莉", "洋": "阳", "杰": "洁", "华": "骅"}


def timed(fn, runs: int) -> tuple[float, float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), max(times), result


def synthetic_statement(n: int, rnd: random.Random):
    expected, lines = [], []
    for i in range(n):
        name = rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.randint(1, 2)))
        amount = rnd.choice([1000, 5000, 10000, 15000, 20000, 50000]) + rnd.randint(0, 3) * 100
        ref = new_reference()
        expected.append(ExpectedPayment(i + 1, ref, amount, name))
        quoted = rnd.random() < 0.6
        paid_name = name
        if not quoted and rnd.random() < 0.5:
            paid_name = name[:-1] + HOMOPHONE.get(name[-1], name[-1])
        lines.append(BankLine(row=i + 2, booked_on=date(2026, 11, 1) + timedelta(days=i % 28),
                              amount=amount, payer_name=paid_name,
                              memo=f"捐款 {ref}" if quoted else "网银转账"))
    rnd.shuffle(lines)
    return lines, expected


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rnd = random.Random(args.seed)

    receipt = ReceiptData("SL-2026-000481", Giver("张三丰"), 15000, "微心愿 W-12 一个新书包",
                          datetime(2026, 11, 30, 9, 0, tzinfo=UTC), 42,
                          hashlib.sha256(b"42").hexdigest(), "https://shanlian.example/v/1")
    gifts = [StatementLine(datetime(2026, 1 + i % 12, 1 + i % 28, tzinfo=UTC), f"SL-2026-{i:06d}",
                           f"一米阳光 助学项目 第{i}号", 1000 + i) for i in range(200)]
    lines, expected = synthetic_statement(args.lines, rnd)
    trail_gifts = [(i, rnd.randint(100, 100_000)) for i in range(10_000)]
    total = sum(a for _, a in trail_gifts)
    trail_out = [(f"D{i}", total // 1000) for i in range(1000)]

    rows = []
    median, worst, pdf = timed(lambda: receipt_pdf(receipt), args.runs)
    rows.append(("receipt PDF", median, worst, f"{len(pdf) / 1024:.0f} KiB"))
    median, worst, pdf = timed(lambda: statement_pdf(2026, Giver("张三丰"), gifts), args.runs)
    rows.append(("yearly statement, 200 gifts", median, worst, f"{len(pdf) / 1024:.0f} KiB"))
    median, worst, result = timed(lambda: reconcile(lines, expected), args.runs)
    by_name = sum(1 for m in result.matches if m.reason == AMOUNT_AND_NAME)
    # The truth is known: line row i + 2 is the transfer for gift i + 1.
    wrong = [m for m in result.matches if m.line.row != m.payment.gift_id + 1]
    # A wrong proposal is only possible between two transfers of the same amount from
    # similar names; say how many of those carried an "alternatives" flag for staff.
    flagged = sum(1 for m in wrong if m.alternatives)
    rows.append((f"reconcile {args.lines:,} lines × {args.lines:,} transfers", median, worst,
                 f"{len(result.matches):,} proposed ({by_name:,} by amount + name), "
                 f"{len(wrong):,} wrong ({flagged:,} of them flagged with alternatives), "
                 f"{len(result.unmatched_lines):,} lines left for staff"))
    median, worst, _ = timed(lambda: fifo_trail(trail_gifts, trail_out), args.runs)
    rows.append(("FIFO trail 10,000 gifts × 1,000 disbursements", median, worst, ""))

    print(f"{'what':<48} {'median':>10} {'worst':>10}  notes")
    for what, median, worst, note in rows:
        print(f"{what:<48} {median * 1000:>8.1f}ms {worst * 1000:>8.1f}ms  {note}")


if __name__ == "__main__":
    main()
