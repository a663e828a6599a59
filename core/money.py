"""Money as an integer number of fen (分). Floats are refused everywhere."""
from __future__ import annotations

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from core.errors import UserError

_PLAIN_DECIMAL = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$")


class MoneyError(UserError):
    """Raised for anything that cannot be an amount of money."""


class Money(int):
    """An integer number of fen. Build it by name, so the unit is never a guess:
    `Money.fen(150)` is ¥1.50, `Money.yuan("1.50")` and `Money.yuan(1)` are yuan,
    `Money.parse("¥1,234.50")` is what a person typed. (`Money(150)` is the int
    constructor and means fen, as `int(150)` would; arithmetic uses it.)

    It is an int so it stores and sums like one; it refuses floats, and `/`, so a rounding
    error can never enter the books.
    """

    def __new__(cls, fen: int | Money = 0):
        if isinstance(fen, bool) or not isinstance(fen, int):
            raise MoneyError("金额必须是整数分，不能是 %(kind)s", kind=type(fen).__name__)
        return super().__new__(cls, fen)

    @classmethod
    def fen(cls, amount: int) -> Money:
        return cls(amount)

    @classmethod
    def yuan(cls, amount: int | str | Decimal) -> Money:
        """Yuan: an int (whole yuan), a Decimal or a string with at most two decimals."""
        if isinstance(amount, bool) or isinstance(amount, float):
            raise MoneyError("金额不能是浮点数")
        if isinstance(amount, int):
            return cls(amount * 100)
        if isinstance(amount, Decimal | str):
            return cls.parse(str(amount), allow_negative=True)
        raise MoneyError("金额须为整数、Decimal 或文本，不能是 %(kind)s", kind=type(amount).__name__)

    @classmethod
    def parse(cls, text: str, *, allow_negative: bool = False) -> Money:
        """Parse yuan as typed by a person: '15', '1,234.50', '¥20.5'. At most two decimals.
        Only text: a number has no unit here, so use `Money.fen` or `Money.yuan`."""
        if not isinstance(text, str):
            raise MoneyError("Money.parse 只接受文本，不能是 %(kind)s；请用 Money.fen 或 Money.yuan",
                             kind=type(text).__name__)
        # NFKC: full-width digits and points from a Chinese input method read as ASCII.
        raw = unicodedata.normalize("NFKC", text).strip().replace(",", "").lstrip("¥").strip()
        if not raw:
            raise MoneyError("金额不能为空")
        # Plain decimal notation only: Decimal alone would also read "1e3", "1_000", "NaN".
        if not _PLAIN_DECIMAL.match(raw):
            raise MoneyError("“%(text)s” 不是有效金额", text=text)
        try:
            yuan = Decimal(raw)
        except InvalidOperation:
            raise MoneyError("“%(text)s” 不是有效金额", text=text) from None
        if not yuan.is_finite():
            raise MoneyError("“%(text)s” 不是有效金额", text=text)
        if yuan.adjusted() > 15:  # beyond any BIGINT of fen (and Decimal's quantize)
            raise MoneyError("金额过大")
        if yuan != yuan.quantize(Decimal("0.01")):
            raise MoneyError("金额最多两位小数")
        if yuan < 0 and not allow_negative:
            raise MoneyError("金额不能为负")
        return cls(int((yuan * 100).to_integral_value(ROUND_HALF_UP)))

    def split(self, parts: int) -> list[Money]:
        """Divide into `parts` amounts that differ by at most one fen and sum to the whole
        (the first ones take the remainder), instead of a float quotient."""
        if isinstance(parts, bool) or not isinstance(parts, int) or parts <= 0:
            raise MoneyError("金额只能分成正整数份")
        share, left = divmod(int(self), parts)
        return [Money(share + (1 if i < left else 0)) for i in range(parts)]

    def __truediv__(self, other):
        raise MoneyError("金额不能用 / 相除（会得到浮点数）；请用 split(n) 或 //")

    def __rtruediv__(self, other):
        raise MoneyError("金额不能作 / 的除数")

    def __floordiv__(self, other):
        if isinstance(other, bool) or not isinstance(other, int):
            raise MoneyError("金额只能整除以整数")
        if isinstance(other, Money):  # how many times one amount fits in another: a count
            return int(self) // int(other)
        return Money(int(self) // other)

    def __rfloordiv__(self, other):
        if isinstance(other, bool) or not isinstance(other, int):
            raise MoneyError("金额只能整除以整数")
        return int(other) // int(self)

    def __mod__(self, other):
        if isinstance(other, bool) or not isinstance(other, int):
            raise MoneyError("金额只能对整数取余")
        return Money(int(self) % int(other))

    def __add__(self, other):
        _refuse_float_operand(other)
        result = int.__add__(self, other)
        return Money(result) if result is not NotImplemented else result

    __radd__ = __add__

    def __sub__(self, other):
        _refuse_float_operand(other)
        result = int.__sub__(self, other)
        return Money(result) if result is not NotImplemented else result

    def __rsub__(self, other):
        _refuse_float_operand(other)
        return Money(int(other) - int(self))

    def __mul__(self, other):
        if not isinstance(other, int) or isinstance(other, bool):
            raise MoneyError("金额只能乘以整数")
        if isinstance(other, Money):  # fen × fen is not an amount (a pro-rata numerator)
            return int(self) * int(other)
        return Money(int(self) * other)

    __rmul__ = __mul__

    def __neg__(self):
        return Money(-int(self))

    @classmethod
    def __get_pydantic_core_schema__(cls, _source, _handler):
        # Model fields annotated `Money` (the money columns) validate as a strict int of fen.
        from pydantic_core import core_schema
        return core_schema.no_info_after_validator_function(
            cls, core_schema.int_schema(strict=True),
            serialization=core_schema.plain_serializer_function_ser_schema(int))

    def format(self) -> str:
        """¥1,234.50 (negative: -¥1,234.50)."""
        sign = "-" if self < 0 else ""
        yuan, fen = divmod(abs(int(self)), 100)
        return f"{sign}¥{yuan:,}.{fen:02d}"

    def __str__(self) -> str:
        # The plain number of fen, as int would print it: a Money read from a money column
        # lands in CSV exports, JSON, ledger hashes and URLs exactly as the int did. Text for
        # people is `format()` (or the `yuan` template filter).
        return int.__repr__(self)

    def __repr__(self) -> str:
        return f"Money({int(self)})"


def _refuse_float_operand(other) -> None:
    if isinstance(other, float):
        raise MoneyError("金额不能与浮点数运算")


def require_positive(amount, message: str = "金额必须是正数") -> Money:
    """An amount a service may move, as Money: a positive integer number of fen (a Money or
    an int, which is fen), never a float."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise MoneyError(message)
    return Money.fen(int(amount))


def fmt(fen: int | None) -> str:
    """Format any integer fen for display; templates use this as a filter."""
    return Money(int(fen or 0)).format()


def percent(part: int, whole: int) -> int:
    """Whole-number percentage (floored), for progress bars; 0 when whole is 0."""
    if whole <= 0:
        return 0
    return min(100, (int(part) * 100) // int(whole))
