"""Chinese identifiers that forms must check: 统一社会信用代码 (GB 32100-2015) and
居民身份证号 (GB 11643-1999).

Each validator normalises (trims, full-width → half-width, upper case) and returns the
normalised value, or raises an IdentifierError whose message id says what is wrong. The
check characters catch every single-character mistake: both use weights that are never a
multiple of the (prime) modulus, so changing any one character changes the checksum.
Generators make valid codes for demo data and tests.
"""
from __future__ import annotations

import random
import unicodedata
from datetime import date

from core.clock import today
from core.messages import N_, MessageError

# GB 32100: the 31 characters allowed (no I, O, Z, S, V), position weights, modulus 31.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# GB 11643: weights 2^(17-i) mod 11, check digits indexed by the sum mod 11.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
# GB/T 2260 province-level codes (the first two digits of a region code).
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82",
})

USCC_EMPTY = N_("请填写统一社会信用代码")
USCC_LENGTH = N_("统一社会信用代码应为18位")
USCC_CHARACTER = N_("统一社会信用代码含有不允许的字符（不使用 I、O、Z、S、V）")
USCC_REGION = N_("统一社会信用代码第3至8位应为行政区划代码（数字）")
USCC_CHECK = N_("统一社会信用代码校验位不符，请核对每一位")
ID_EMPTY = N_("请填写身份证号")
ID_LENGTH = N_("身份证号应为18位")
ID_CHARACTER = N_("身份证号前17位应为数字，最后一位为数字或 X")
ID_REGION = N_("身份证号前6位不是有效的行政区划代码")
ID_BIRTH_DATE = N_("身份证号中的出生日期无效")
ID_FUTURE = N_("身份证号中的出生日期晚于今天")
ID_CHECK_DIGIT = N_("身份证号校验位不符，请核对每一位")


class IdentifierError(MessageError):
    """A 统一社会信用代码 or 身份证号 that is not valid."""


def _normalise(value: object) -> str:
    text = value if isinstance(value, str) else ""
    # NFKC turns full-width digits and letters (１２３ＡＢ) into ASCII; spaces are typing noise.
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


def uscc_check_character(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def validate_uscc(value: object) -> str:
    """A normalised 统一社会信用代码, or IdentifierError."""
    code = _normalise(value)
    if not code:
        raise IdentifierError(USCC_EMPTY)
    if len(code) != 18:
        raise IdentifierError(USCC_LENGTH)
    if any(c not in USCC_ALPHABET for c in code):
        raise IdentifierError(USCC_CHARACTER)
    if not code[2:8].isdigit():
        raise IdentifierError(USCC_REGION)
    if uscc_check_character(code[:17]) != code[17]:
        raise IdentifierError(USCC_CHECK)
    return code


def id_check_digit(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def validate_id_number(value: object) -> str:
    """A normalised 18-digit 居民身份证号 (check digit X in upper case), or IdentifierError."""
    number = _normalise(value)
    if not number:
        raise IdentifierError(ID_EMPTY)
    if len(number) != 18:
        raise IdentifierError(ID_LENGTH)
    if not (number[:17].isascii() and number[:17].isdigit()) or number[17] not in "0123456789X":
        raise IdentifierError(ID_CHARACTER)
    if number[:2] not in PROVINCES or number[2:6] == "0000":
        raise IdentifierError(ID_REGION)
    born = birth_date_of(number)
    if born is None or born.year < 1900:
        raise IdentifierError(ID_BIRTH_DATE)
    if born > today():
        raise IdentifierError(ID_FUTURE)
    if id_check_digit(number[:17]) != number[17]:
        raise IdentifierError(ID_CHECK_DIGIT)
    return number


def birth_date_of(number: str) -> date | None:
    """The birth date written in positions 7-14, or None if it is not a calendar date."""
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def generate_uscc(rng: random.Random, region: str = "371602") -> str:
    """A valid 统一社会信用代码: 5 (民政) + 1/2/3 (社会团体/民办非企业/基金会), a region code,
    a 9-character organisation code, and its check character."""
    body = "5" + rng.choice("123") + region + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
    return body + uscc_check_character(body)


def generate_id_number(rng: random.Random, born: date | None = None,
                       region: str = "371602") -> str:
    """A valid 身份证号 for someone born on `born` (a random date in 1950-2015 if None)."""
    if born is None:
        born = date.fromordinal(rng.randint(date(1950, 1, 1).toordinal(),
                                            date(2015, 12, 31).toordinal()))
    body = f"{region}{born:%Y%m%d}{rng.randint(0, 999):03d}"
    return body + id_check_digit(body)
