"""Many donors at once on the real PostgreSQL: 1,000 claims of 100 wishes give exactly 100
holders, and once they pay, exactly 100 credited gifts and no wish over-funded."""
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import select

from core.db import get_engine, unit_of_work
from core.errors import UserError
from donors.bank_transfer import BankTransferGateway
from donors.gateway import BankAccount
from donors.giving import confirm_payment, reference_taken, start_gift
from donors.giving_models import GiftPayment
from funds import ledger
from needs.models import Need
from tests.conftest import require_postgres
from tests.integration.helpers import committed, org, verified_need

ACCOUNT = BankAccount("善联慈善信息平台", "测试银行", "6222 0000 1111 2222")


@pytest.mark.postgres
def test_a_thousand_claims_of_a_hundred_wishes_give_a_hundred_winners(clean_url, jobs_recorded):
    require_postgres()
    engine = get_engine(clean_url)

    def build(s):
        organisation = org(s)
        return [verified_need(s, organisation, amount=15_000, title=f"心愿{i}").id
                for i in range(100)]
    wish_ids = committed(clean_url, build)

    def claim(i):
        try:
            with unit_of_work(engine) as s:
                gateway = BankTransferGateway(ACCOUNT, is_taken=reference_taken(s))
                started = start_gift(s, gateway, s.get(Need, wish_ids[i % 100]), None,
                                     name=f"捐赠者{i}", contact=f"d{i}@example.cn")
                return started.payment.id
        except UserError:
            return None

    with ThreadPoolExecutor(max_workers=32) as pool:
        winners = [p for p in pool.map(claim, range(1000)) if p is not None]
    assert len(winners) == 100

    def pay(payment_id):
        with unit_of_work(engine) as s:
            return confirm_payment(s, s.get(GiftPayment, payment_id))

    with ThreadPoolExecutor(max_workers=32) as pool:
        outcomes = list(pool.map(pay, winners))
    assert outcomes.count("confirmed") == 100
    # Each confirmation sent its own receipt job once (not every pending one, 32 times).
    receipts = [args[0] for func, args in jobs_recorded if func == "jobs.tasks.issue_receipt"]
    assert len(receipts) == len(set(receipts)) == 100
    with unit_of_work(engine) as s:
        needs = s.exec(select(Need)).all()
        assert all(n.funded == n.amount == 15_000 and n.state == "funded" for n in needs)
        assert ledger.verify(s).ok and ledger.verify(s).count == 100
