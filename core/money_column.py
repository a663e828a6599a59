"""The one column type for money: BIGINT of fen in the database, `Money` in Python.

Every money column (need amount/funded/disbursed, fund balance and caps, pledge budget,
donations, allocations, disbursements, ledger postings, match offers, returns…) is declared
with `MoneyType`, so a row read back carries `Money`, and a float can never be written:
binding a float, a bool or a fractional Decimal raises `MoneyError` before any SQL runs.
"""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

from core.money import Money, MoneyError


class MoneyType(TypeDecorator):
    """BIGINT (fen) in the database; `Money` in Python; refuses floats."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, bool) or isinstance(value, float):
            raise MoneyError("金额必须是整数分，不能是 %(kind)s", kind=type(value).__name__)
        if isinstance(value, Decimal):
            if value != value.to_integral_value():
                raise MoneyError("金额必须是整数分，不能是 %(kind)s", kind="Decimal")
            return int(value)
        if not isinstance(value, int):
            raise MoneyError("金额必须是整数分，不能是 %(kind)s", kind=type(value).__name__)
        return int(value)

    def process_result_value(self, value, dialect):
        # SUM() over a money column keeps this type; PostgreSQL answers it as NUMERIC.
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return Money(value)
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return Money(int(value))
        return value  # e.g. AVG() of fen: not an amount of money any more

    def coerce_compared_value(self, op, value):
        # `Need.funded * 100 / Need.amount` and friends: a plain number next to a money
        # column is a factor, not an amount, so it binds as a plain integer.
        if isinstance(value, int) and not isinstance(value, (bool, Money)):
            return BigInteger()
        return self
