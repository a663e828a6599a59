"""Ledger append / verify / tamper, and bad postings that must write nothing."""
import os
import subprocess
import sys

import pytest
from sqlalchemy import func, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from core.db import get_engine, unit_of_work
from core.errors import UserError
from funds import ledger
from funds.ledger import LedgerError
from funds.models import LedgerPosting, LedgerTxn
from tests.conftest import tamper as tamper_with


def _append_some(url, n=5):
    with unit_of_work(get_engine(url)) as s:
        for i in range(n):
            ledger.append(s, "donation", f"donation:{i}",
                          [("donor:abc123", -(100 + i)), ("need:W-1", 100 + i)], memo="测试")


def _count(url):
    with unit_of_work(get_engine(url)) as s:
        return (s.exec(select(func.count()).select_from(LedgerTxn)).one(),
                s.exec(select(func.count()).select_from(LedgerPosting)).one())


def test_append_chains_and_balances(clean_url):
    _append_some(clean_url, 5)
    with unit_of_work(get_engine(clean_url)) as s:
        txns = s.exec(select(LedgerTxn).order_by(LedgerTxn.seq)).all()
        assert [t.seq for t in txns] == [1, 2, 3, 4, 5]
        assert txns[0].prev == "0" * 64
        assert all(b.prev == a.hash for a, b in zip(txns, txns[1:], strict=False))
        assert ledger.verify(s).ok
        assert ledger.balance(s, "need:W-1") == sum(100 + i for i in range(5))
        assert ledger.balance(s, "donor:abc123") == -ledger.balance(s, "need:W-1")
        assert ledger.balances(s, "need:") == {"need:W-1": 510}


@pytest.mark.parametrize("postings,message", [
    ([("donor:a", -100), ("need:W-1", 99)], "不平衡"),
    ([("donor:a", -100)], "两条"),
    ([("donor:a", -1.5), ("need:W-1", 1.5)], "整数"),
    ([("donor:a", 0), ("need:W-1", 0)], "零"),
    ([("张三", -100), ("need:W-1", 100)], "账户"),
])
def test_bad_postings_are_refused_and_write_nothing(clean_url, postings, message):
    _append_some(clean_url, 1)
    with pytest.raises(LedgerError) as caught, unit_of_work(get_engine(clean_url)) as s:
        ledger.append(s, "donation", "donation:x", postings)
    assert message in caught.value.message()
    assert isinstance(caught.value, UserError)
    assert _count(clean_url) == (1, 2)


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_posting SET amount = amount + 1 WHERE seq = 2",
    "UPDATE ledger_txn SET memo = '改过' WHERE seq = 2",
    "DELETE FROM ledger_posting WHERE seq = 2",
    "DELETE FROM ledger_txn WHERE seq = 3",
])
def test_the_database_refuses_to_change_the_ledger(clean_url, statement):
    _append_some(clean_url, 3)
    with pytest.raises(DBAPIError, match="append-only"), get_engine(clean_url).begin() as conn:
        conn.execute(text(statement))
    with unit_of_work(get_engine(clean_url)) as s:
        assert ledger.verify(s).ok
    assert _count(clean_url) == (3, 6)


@pytest.mark.parametrize("tamper", [
    "UPDATE ledger_posting SET amount = amount + 1 WHERE seq = 3 AND position = 1",
    "UPDATE ledger_posting SET account = 'need:W-2' WHERE seq = 3 AND position = 1",
    "UPDATE ledger_txn SET memo = '改过' WHERE seq = 3",
    "UPDATE ledger_txn SET at = '2020-01-01 00:00:00' WHERE seq = 3",
    "DELETE FROM ledger_posting WHERE seq = 3 AND position = 1",
])
def test_verify_names_the_first_altered_transaction(clean_url, tamper):
    _append_some(clean_url, 5)
    tamper_with(clean_url, tamper)
    with unit_of_work(get_engine(clean_url)) as s:
        verdict = ledger.verify(s)
    assert not verdict.ok and verdict.bad_seq == 3, verdict


def _cli(url, *args):
    env = dict(os.environ, DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "flask", "--app", "web", "ledger", "verify", *args],
                          env=env, capture_output=True, text=True, timeout=120)


def test_cli_verify_exit_codes(clean_url, tmp_path):
    _append_some(clean_url, 4)
    ok = _cli(clean_url)
    assert ok.returncode == 0, ok.stderr
    assert "4 transactions" in ok.stdout

    export = tmp_path / "ledger.jsonl"
    with unit_of_work(get_engine(clean_url)) as s:
        export.write_text("".join(ledger.export_lines(s)), encoding="utf-8")
    assert _cli(clean_url, str(export)).returncode == 0
    export.write_text(export.read_text(encoding="utf-8").replace('"amount":102', '"amount":103'),
                      encoding="utf-8")
    broken_file = _cli(clean_url, str(export))
    assert broken_file.returncode == 1 and "transaction 3" in broken_file.stderr

    tamper_with(clean_url, "UPDATE ledger_posting SET amount = -999 WHERE seq = 2 AND position = 0")
    broken = _cli(clean_url)
    assert broken.returncode == 1
    assert "transaction 2" in broken.stderr


def test_cli_verify_reconciles_mirror_columns(clean_url):
    from tests.integration.helpers import committed, fund_with, org, verified_need

    def build(s):
        from donors import services as donors

        need = verified_need(s, org(s), kind="project", amount=100_000)
        donors.donate_to_need(s, donors.create_donor(s, "张三"), need, 20_000)
        fund_with(s, 5_000)
        return need.code

    code = committed(clean_url, build)
    ok = _cli(clean_url)
    assert ok.returncode == 0, ok.stderr
    assert "mirror columns match" in ok.stdout
    # The chain is intact, but the public figure is false.
    with get_engine(clean_url).begin() as conn:
        conn.execute(text("UPDATE need SET funded = funded + 50000 WHERE code = :c"), {"c": code})
    broken = _cli(clean_url)
    assert broken.returncode == 1
    assert f"need {code}: funded is ¥700.00 but the ledger says ¥200.00" in broken.stderr


def test_every_mirror_is_reconciled(clean_url):
    from donors import services as donors
    from readside.reconcile import mismatches
    from tests.integration.helpers import committed, fund_with

    def build(s):
        fund = fund_with(s, 5_000)
        firm = donors.create_enterprise(s, "企业甲", "山东省/滨州市")
        pledge = donors.create_pledge(s, firm, 100_000)
        donors.pay_pledge(s, pledge, 30_000, "pay:1")
        return fund.code, pledge.code

    fund_code, pledge_code = committed(clean_url, build)
    with get_engine(clean_url).begin() as conn:
        conn.execute(text("UPDATE communityfund SET balance = balance + 1"))
        conn.execute(text("UPDATE pledge SET allocated = 7, paid_in = paid_in + 7"))
    with unit_of_work(get_engine(clean_url)) as s:
        found = [(m.table, m.code, m.column) for m in mismatches(s)]
    assert found == [("fund", fund_code, "balance"), ("pledge", pledge_code, "paid_in"),
                     ("pledge", pledge_code, "allocated")]


def test_a_clock_set_back_never_makes_a_transaction_older_than_its_predecessor(clean_url):
    """A transaction appended while the clock reads earlier than the head gets the head's time,
    so times never go backwards in seq order (the verifier checks that too)."""
    from datetime import UTC, datetime

    from core import clock

    with clock.frozen(datetime(2026, 11, 24, 12, 0, tzinfo=UTC)):
        _append_some(clean_url, 1)
    with clock.frozen(datetime(2026, 11, 24, 9, 0, tzinfo=UTC)):
        _append_some(clean_url, 1)
    with unit_of_work(get_engine(clean_url)) as s:
        first, second = s.exec(select(LedgerTxn).order_by(LedgerTxn.seq)).all()
        assert second.at == first.at
        assert ledger.verify(s).ok
