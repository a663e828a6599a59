"""Bank transfer (对公转账 / 线下转账): a unique reference code and the platform's account.

A reference code looks like SL-7KQ2-M9X1: "SL", seven random characters and one check
character, over Crockford's base-32 alphabet (no I, L, O or U, so nothing reads as another
letter when typed from paper). The check character is Luhn mod 32 (python-stdnum), which
catches every single mistyped character and every swap of two neighbours but one: 0↔Z (as
Luhn mod 10 misses 09↔90). Codes are drawn without Z, check character included, so that
swap cannot occur; a typo in a bank memo (附言) is refused instead of matching another gift.
"""
from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable, Mapping

from stdnum import luhn
from stdnum.exceptions import ValidationError

from core.errors import UserError
from core.money import Money
from donors.gateway import (
    BankAccount,
    GiftPayment,
    PaymentEvent,
    PaymentStart,
    RefundResult,
    RefundStatus,
    WebhookRejected,
    check_payment,
)

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32
_DRAWN = ALPHABET.replace("Z", "")  # see above: Luhn mod 32 cannot tell 0Z from Z0
PREFIX = "SL"
BODY_LENGTH = 7
# Crockford's reading rules: letters people confuse with digits mean those digits.
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_—–·.]+")
# "SL" then eight code characters, with any spacing or dashes people put between them.
_IN_TEXT = re.compile(r"S[\s\-_—–·.]*L((?:[\s\-_—–·.]*[0-9A-Z]){8})(?![0-9A-Z])", re.IGNORECASE)


class BadReference(UserError):
    """A reference code that does not check: most likely a typo."""


def new_reference(is_taken: Callable[[str], bool] | None = None, *, tries: int = 20) -> str:
    """A fresh code; `is_taken` asks the database (which also holds it UNIQUE) about clashes."""
    for _ in range(tries):
        body = "".join(secrets.choice(_DRAWN) for _ in range(BODY_LENGTH))
        check = luhn.calc_check_digit(body, ALPHABET)
        if check == "Z":
            continue
        code = _format(body + check)
        if is_taken is None or not is_taken(code):
            return code
    raise RuntimeError("could not find a free reference code")  # 32**7 codes: never in practice


def normalise_reference(text: str) -> str:
    """'sl 7kq2 m9x1' or 'SL7KQ2M9XI' → 'SL-7KQ2-M9X1'; BadReference if it does not check."""
    raw = _SEPARATORS.sub("", text or "").upper()
    if not raw.startswith(PREFIX) or len(raw) != len(PREFIX) + BODY_LENGTH + 1:
        raise BadReference(f"“{text}” 不是有效的转账参考码（格式 SL-XXXX-XXXX）",
                           f"“{text}” is not a transfer reference (SL-XXXX-XXXX)")
    code = raw[len(PREFIX):].translate(_READ_AS)
    if any(ch not in ALPHABET for ch in code):
        raise BadReference(f"参考码“{text}”含有无效字符", f"reference “{text}” has invalid characters")
    try:
        luhn.validate(code, ALPHABET)
    except ValidationError:
        raise BadReference("参考码“%(text)s”校验失败，请检查是否输错", text=text) from None
    return _format(code)


def find_references(text: str) -> list[str]:
    """Every valid code inside free text such as a 附言 ('转账 sl-7kq2 m9x1 张三'), in order."""
    found: list[str] = []
    for match in _IN_TEXT.finditer(text or ""):
        try:
            code = normalise_reference(PREFIX + match.group(1))
        except BadReference:
            continue
        if code not in found:
            found.append(code)
    return found


def _format(code: str) -> str:
    return f"{PREFIX}-{code[:4]}-{code[4:]}"


class BankTransferGateway:
    """Always available; the default without Stripe keys. Money is confirmed by staff, by
    hand or by reconciling a bank statement (`donors.statements`), never by a webhook."""

    name = "bank_transfer"

    def __init__(self, account: BankAccount, is_taken: Callable[[str], bool] | None = None):
        if not all(part.strip() for part in (account.account_name, account.bank_name,
                                             account.account_number)):
            raise ValueError("the receiving account needs a name, a bank and a number")
        self.account = account
        self._is_taken = is_taken

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None,
                 is_taken: Callable[[str], bool] | None = None) -> BankTransferGateway:
        env = os.environ if env is None else env
        names = ("BANK_ACCOUNT_NAME", "BANK_NAME", "BANK_ACCOUNT_NUMBER")
        missing = [name for name in names if not (env.get(name) or "").strip()]
        if missing:
            raise ValueError("bank transfer needs the platform's account: set " + ", ".join(missing))
        return cls(BankAccount(*(env[name].strip() for name in names)), is_taken)

    def create_payment(self, payment: GiftPayment) -> PaymentStart:
        check_payment(payment)
        code = new_reference(self._is_taken)
        return PaymentStart(provider=self.name, provider_ref=code, amount=payment.amount,
                            account=self.account, reference=code)

    def refund(self, payment_ref: str, amount: Money | None, *, gift_id: int,
               idempotency_key: str) -> RefundResult:
        """Staff send the money back from the bank and record it; nothing to call here."""
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int)
                                   or amount <= 0):
            raise ValueError("a refund amount is a positive integer number of fen")
        return RefundResult(provider=self.name, refund_ref=None, amount=amount,
                            status=RefundStatus.MANUAL)

    def parse_webhook(self, payload: bytes, headers: Mapping[str, str]) -> PaymentEvent:
        raise WebhookRejected("银行转账没有回调通知")
