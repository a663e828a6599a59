"""Every money column is one MoneyType: BIGINT of fen in the database, Money in Python.
A row read back carries Money (so `/` is refused), sums stay Money on SQLite and PostgreSQL,
and a float can never be written, through the ORM or a SQL expression."""
import pytest
from sqlalchemy import Integer, func, update
from sqlmodel import Session, SQLModel, select

from core.db import get_engine
from core.money import Money, MoneyError
from core.money_column import MoneyType
from funds import services as funds
from funds.models import CommunityFund
from needs.models import Need
from tests.integration.helpers import BZ, committed, org, verified_need

MONEY_WORDS = ("amount", "funded", "disbursed", "balance", "cap", "budget", "paid_in",
               "allocated", "used", "money_in", "money_out", "over", "limit", "positive", "net")


def _money_columns():
    import core.models_registry  # noqa: F401 — every table in the metadata
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            yield table.name, column


def test_every_money_column_is_a_money_type():
    # No integer column whose name says money is a bare BigInteger/Integer.
    bare = [f"{table}.{c.name}" for table, c in _money_columns()
            if isinstance(c.type, Integer) and not isinstance(c.type, MoneyType)
            and any(word in c.name for word in MONEY_WORDS) and not c.name.endswith("_id")]
    assert bare == []
    money = {f"{table}.{c.name}" for table, c in _money_columns() if isinstance(c.type, MoneyType)}
    for expected in ("need.amount", "need.funded", "need.disbursed", "communityfund.balance",
                     "pledge.budget", "pledge.paid_in", "pledge.allocated", "donation.amount",
                     "allocation.amount", "disbursement.amount", "ledger_posting.amount",
                     "milestone.amount", "match_offer.total_cap", "gift_return.amount"):
        table = expected.split(".")[0]
        if table in SQLModel.metadata.tables:
            assert expected in money, expected


def test_rows_and_sums_come_back_as_money(clean_url):
    code = committed(clean_url, lambda s: verified_need(s, org(s), amount=Money.yuan(150)).code)
    with Session(get_engine(clean_url)) as s:
        row = s.exec(select(Need).where(Need.code == code)).one()
        assert type(row.amount) is Money and row.amount == 15_000
        assert type(row.funded) is Money
        with pytest.raises(MoneyError):
            row.amount / 3  # noqa: B018 — a float quotient is refused
        total = s.exec(select(func.sum(Need.amount))).one()
        assert type(total) is Money and total == 15_000


def test_a_float_is_never_written(clean_url):
    committed(clean_url, lambda s: funds.create_fund(s, "基金", BZ))
    with Session(get_engine(clean_url)) as s:
        fund = s.exec(select(CommunityFund)).one()
        fund.balance = 12.5
        with pytest.raises(Exception) as refused:
            s.flush()
        assert isinstance(refused.value, MoneyError) or isinstance(refused.value.orig, MoneyError)
    with Session(get_engine(clean_url)) as s:
        with pytest.raises(Exception) as refused:
            s.execute(update(Need).values(funded=Need.funded + 0.5))
        assert "MoneyError" in repr(refused.value) or isinstance(refused.value, MoneyError)
        s.rollback()
    with Session(get_engine(clean_url)) as s:
        assert s.exec(select(CommunityFund.balance)).one() == 0
