from decimal import Decimal

import pytest

from core.errors import UserError
from core.money import Money, MoneyError, fmt, percent, require_positive


def test_money_is_integer_fen_and_formats_as_yuan():
    assert Money(123450).format() == "¥1,234.50"
    assert Money(-5).format() == "-¥0.05"
    assert fmt(0) == "¥0.00"
    assert Money.yuan(10_000) == 1_000_000


@pytest.mark.parametrize("bad", [1.5, 0.1, True, "100", None, Decimal("1")])
def test_money_refuses_anything_but_int(bad):
    with pytest.raises(MoneyError):
        Money(bad)


def test_arithmetic_stays_money_and_refuses_floats():
    total = Money(150) + Money(250)
    assert isinstance(total, Money) and total == 400
    assert isinstance(Money(400) - 150, Money)
    assert Money(300) * 3 == 900
    with pytest.raises(MoneyError):
        Money(100) + 0.5
    with pytest.raises(MoneyError):
        Money(100) * 1.5


@pytest.mark.parametrize("text,fen", [
    ("15", 1500), ("1,234.50", 123450), ("¥20.5", 2050), (" ￥0.01 ", 1), ("10000", 1000000),
    ("1，000", 100000),
])
def test_parse_yuan_as_typed(text, fen):
    assert Money.parse(text) == fen


@pytest.mark.parametrize("text", ["", "abc", "1.005", "-3", "NaN", "Infinity", "1e400x"])
def test_parse_refuses_bad_amounts_with_a_readable_message(text):
    with pytest.raises(UserError) as caught:
        Money.parse(text)
    assert caught.value.message() and caught.value.message("en")


@pytest.mark.parametrize("bad", [12.5, 5, Decimal("5")])
def test_parse_takes_only_text(bad):
    # A bare number has no unit: Money.parse(5) used to mean ¥5 while Money(5) meant 5 fen.
    with pytest.raises(MoneyError):
        Money.parse(bad)


def test_construction_names_its_unit():
    assert Money.fen(5) == 5 and isinstance(Money.fen(5), Money)
    assert Money.yuan(5) == 500
    assert Money.yuan("5") == 500 and Money.yuan("0.05") == 5
    assert Money.yuan(Decimal("1234.50")) == 123450
    with pytest.raises(MoneyError):
        Money.yuan(5.0)
    with pytest.raises(MoneyError):
        Money.yuan("0.005")


def test_division_never_returns_a_float():
    with pytest.raises(MoneyError):
        Money(100) / 3
    with pytest.raises(MoneyError):
        300 / Money(100)
    assert Money(100) // 3 == 33 and isinstance(Money(100) // 3, Money)
    assert Money(100) % 3 == 1 and isinstance(Money(100) % 3, Money)
    with pytest.raises(MoneyError):
        Money(100) // 1.5
    # Two amounts: their quotient is a count and their product no amount, so plain ints,
    # and a pro-rata share (amount × part // whole) is exact.
    assert Money(1000) // Money(300) == 3 and type(Money(1000) // Money(300)) is int
    assert type(Money(100) * Money(3)) is int
    assert Money(30_000) * Money(1_000) // Money(7_000) == 4285
    assert Money(1000) % Money(300) == 100 and isinstance(Money(1000) % Money(300), Money)
    with pytest.raises(MoneyError):
        Money(100) // True


def test_split_shares_the_remainder_and_sums_to_the_whole():
    parts = Money(100).split(3)
    assert parts == [34, 33, 33] and all(isinstance(p, Money) for p in parts)
    assert sum(Money(10_001).split(7)) == 10_001
    with pytest.raises(MoneyError):
        Money(100).split(0)


def test_require_positive_returns_money_and_refuses_the_rest():
    assert isinstance(require_positive(150), Money)
    for bad in (0, -1, 1.5, True, "150"):
        with pytest.raises(MoneyError):
            require_positive(bad)


def test_percent_floors_and_caps():
    assert percent(1, 3) == 33
    assert percent(5, 0) == 0
    assert percent(200, 100) == 100


@pytest.mark.parametrize("typed", ["1e3", "1E2", "1_000", "NaN", "Infinity", "0x10", "1.2.3",
                                   "５e２", "12 34"])
def test_only_plain_decimal_yuan_is_money(typed):
    with pytest.raises(MoneyError):
        Money.parse(typed)


@pytest.mark.parametrize("typed,fen", [("１５．５", 1550), ("1，000", 100_000), ("￥.5", 50),
                                       ("+5", 500)])
def test_full_width_digits_from_an_input_method_are_read(typed, fen):
    assert int(Money.parse(typed)) == fen
