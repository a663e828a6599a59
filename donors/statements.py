"""Bank-statement reconciliation for bank transfers: read a statement, propose matches.

Pure functions over plain data. `read_statement` takes the bytes staff uploaded (CSV in GBK
or UTF-8 with a BOM, or XLSX, as Chinese banks export them: account details above the
header row, 合计 rows below it) and returns the incoming lines with amounts in integer fen.
`reconcile` matches lines to the expected transfers: an exact reference code first, also
found inside 摘要/附言 text; then, for lines that lost their reference, the same amount and
a payer name close enough (rapidfuzz over the characters and their pinyin, so 张三峰 is
taken for 张三丰 but 李小明 is not taken for 王小明). The expected payments are gifts and
pledge tranches alike (one code space of references; an enterprise's 对公转账 is matched on
its name, 有限公司 and all). Nothing here confirms anything: staff confirm each proposal.
"""
from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import numpy as np
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process

from core.errors import UserError
from donors.bank_transfer import find_references

# Header names as Chinese banks spell them, first match wins.
DATE_COLUMNS = ("交易日期", "记账日期", "入账日期", "交易时间", "记账时间", "日期")
CREDIT_COLUMNS = ("贷方金额", "收入金额", "贷方发生额", "存入金额", "入账金额", "收入")
DEBIT_COLUMNS = ("借方金额", "支出金额", "借方发生额", "支出")
AMOUNT_COLUMNS = ("交易金额", "发生额", "金额")  # with a direction column, when there is no 贷方
DIRECTION_COLUMNS = ("借贷标志", "借贷方向", "收支标志", "收/支", "借贷")
PAYER_COLUMNS = ("对方户名", "付款人名称", "对方账户名称", "对方名称", "付款方户名", "付款人")
PAYER_ACCOUNT_COLUMNS = ("对方账号", "付款人账号", "对方账户", "付款方账号")
MEMO_COLUMNS = ("摘要", "附言", "用途", "备注", "交易附言", "交易摘要", "交易用途")
SERIAL_COLUMNS = ("交易流水号", "流水号", "凭证号", "交易参考号")
_SUMMARY_WORDS = ("合计", "总计", "小计", "以下空白", "共计")
_CREDIT_MARKS = ("贷", "收", "收入", "C", "CR", "+")

NAME_MATCH_CUTOFF = 75.0  # mean of character and pinyin similarity, 0–100
_COMPANY_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "公司")


class StatementError(UserError):
    """A statement that cannot be read; nothing is matched."""


@dataclass(frozen=True)
class BankLine:
    row: int  # the row in the file (1-based), so staff can find it
    booked_on: date
    amount: int  # fen, > 0: money in
    payer_name: str
    memo: str = ""
    payer_account: str = ""
    serial: str = ""


GIFT = "gift"
TRANCHE = "tranche"


@dataclass(frozen=True)
class ExpectedPayment:
    gift_id: int  # the GiftPayment's id, or the PledgeTranche's when kind is TRANCHE
    reference: str  # SL-XXXX-XXXX ("" for a tranche whose code was never asked for)
    amount: int  # fen
    payer_name: str
    created_on: date | None = None  # a line booked before this cannot be this payment
    kind: str = GIFT  # GIFT or TRANCHE

    @property
    def key(self) -> tuple[str, int]:
        return self.kind, self.gift_id


REFERENCE = "reference"
REFERENCE_AMOUNT_DIFFERS = "reference_amount_differs"
AMOUNT_AND_NAME = "amount_and_name"


@dataclass(frozen=True)
class ProposedMatch:
    line: BankLine
    payment: ExpectedPayment
    reason: str  # REFERENCE, REFERENCE_AMOUNT_DIFFERS or AMOUNT_AND_NAME
    score: float  # 100 for a reference; the name similarity otherwise
    # Other expected payments (gifts or tranches) of the same amount whose payer name also
    # fits this line, best first, by id (some may be proposed for other lines): staff should
    # look before confirming.
    alternatives: tuple[int, ...] = ()


@dataclass(frozen=True)
class Reconciliation:
    matches: list[ProposedMatch]
    unmatched_lines: list[BankLine]
    unmatched_payments: list[ExpectedPayment]
    skipped_rows: int = 0  # outgoing lines and summary rows in the file
    lines: list[BankLine] = field(default_factory=list)


# -- reading --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Statement:
    lines: list[BankLine]
    skipped_rows: int


def read_statement(data: bytes, filename: str = "") -> Statement:
    """The incoming lines of a CSV or XLSX statement (by content, whatever the name says)."""
    if not data:
        raise StatementError("文件为空")
    if data[:4] == b"PK\x03\x04":
        rows = _xlsx_rows(data)
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or filename.lower().endswith(".xls"):
        raise StatementError("不支持旧版 .xls 文件，请另存为 .xlsx 或 .csv")
    else:
        text = _decode(data)
        # Try each delimiter banks use; the right one is the one that yields a header row.
        for delimiter in (",", "\t", ";", "|"):
            try:
                return parse_rows(csv.reader(io.StringIO(text), delimiter=delimiter))
            except _NoHeader:
                continue
        raise _NoHeader()
    return parse_rows(rows)


def parse_rows(rows: Iterable[Sequence]) -> Statement:
    """Find the header row, then read every incoming line below it."""
    rows = list(rows)
    for index, row in enumerate(rows):
        columns = _columns([_text(cell) for cell in row])
        if columns is not None:
            return _read_lines(rows, index, columns)
    raise _NoHeader()


class _NoHeader(StatementError):
    def __init__(self):
        super().__init__(
            "找不到表头：需要“交易日期/记账日期”“贷方金额/收入金额”和“对方户名/付款人名称”等列")


def _columns(header: list[str]) -> dict[str, int] | None:
    names = [re.sub(r"[\s（(].*$", "", h) if h else "" for h in header]  # "贷方金额(元)"

    def find(options):
        for option in options:
            if option in names:
                return names.index(option)
        return None

    found = {"date": find(DATE_COLUMNS), "credit": find(CREDIT_COLUMNS),
             "debit": find(DEBIT_COLUMNS), "amount": find(AMOUNT_COLUMNS),
             "direction": find(DIRECTION_COLUMNS), "payer": find(PAYER_COLUMNS),
             "payer_account": find(PAYER_ACCOUNT_COLUMNS), "serial": find(SERIAL_COLUMNS)}
    found["memo"] = [i for i, name in enumerate(names) if name in MEMO_COLUMNS]
    has_amount = found["credit"] is not None or (
        found["amount"] is not None and found["direction"] is not None)
    if found["date"] is None or not has_amount or found["payer"] is None:
        return None
    return found


def _read_lines(rows: list[Sequence], header_index: int, columns: dict) -> Statement:
    lines, skipped = [], 0

    def cell(row, key):
        index = columns[key]
        return row[index] if index is not None and index < len(row) else None

    for offset, row in enumerate(rows[header_index + 1:], start=header_index + 2):
        texts = [_text(c) for c in row]
        if not any(texts) or any(w in t for t in texts[:3] for w in _SUMMARY_WORDS):
            skipped += 1
            continue
        if columns["credit"] is not None:
            amount = parse_fen(cell(row, "credit"), offset)
        else:
            mark = _text(cell(row, "direction")).upper()
            amount = parse_fen(cell(row, "amount"), offset) if mark in _CREDIT_MARKS else None
        if amount is None or amount <= 0:
            skipped += 1  # money out, or nothing in this column
            continue
        memo = " ".join(t for t in (texts[i] for i in columns["memo"] if i < len(texts)) if t)
        lines.append(BankLine(row=offset, booked_on=parse_date(cell(row, "date"), offset),
                              amount=amount, payer_name=_text(cell(row, "payer")), memo=memo,
                              payer_account=_text(cell(row, "payer_account")),
                              serial=_text(cell(row, "serial"))))
    return Statement(lines=lines, skipped_rows=skipped)


def parse_fen(value, row: int = 0) -> int | None:
    """'1,234.50', '¥150', 1234.5 (an Excel number), '' → fen, exactly; None when empty."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _bad_amount(value, row)
    if isinstance(value, int):
        return value * 100
    if isinstance(value, float):
        # openpyxl hands numeric cells over as floats; repr is the shortest decimal that
        # reads back as the same float, i.e. what the bank wrote (1234.5, not 1234.4999…).
        yuan = Decimal(repr(value))
        cents = yuan.quantize(Decimal("0.01"))
        # A formula cell may carry float noise (150.00000000000003): accept it only when it
        # is within a billionth of a fen amount.
        if abs(yuan - cents) > Decimal("1e-9"):
            raise _bad_amount(value, row)
        return int(cents * 100)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    text = text.replace(",", "").replace("¥", "").replace("元", "").replace(" ", "")
    if text in ("", "-", "--"):
        return None
    try:
        yuan = Decimal(text)
    except InvalidOperation:
        raise _bad_amount(value, row) from None
    if not yuan.is_finite() or yuan != yuan.quantize(Decimal("0.01")):
        raise _bad_amount(value, row)
    return int(yuan * 100)


def parse_date(value, row: int = 0) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = unicodedata.normalize("NFKC", _text(value))
    match = re.match(r"(\d{4})\D?(\d{1,2})\D?(\d{1,2})", text)
    if match:
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            pass
    raise StatementError("第 %(row)s 行的日期“%(text)s”无法识别", row=row, text=text)


def _bad_amount(value, row: int) -> StatementError:
    return StatementError("第 %(row)s 行的金额“%(value)s”无法识别（最多两位小数）", row=row, value=value)


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an account number typed as a number
    return str(value).strip().lstrip("\ufeff").strip("\t\"' ")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # a superset of GBK, as Chinese banks export
    except UnicodeDecodeError:
        raise StatementError("无法识别文件编码（需要 UTF-8 或 GBK）") from None


def _xlsx_rows(data: bytes) -> list[tuple]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises several types for a broken file
        raise StatementError("无法读取 Excel 文件") \
            from None
    try:
        return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


# -- matching -------------------------------------------------------------------------------

def reconcile(lines: Sequence[BankLine], expected: Sequence[ExpectedPayment]) -> Reconciliation:
    """References first, then amount and payer name; each line and payment used at most once.
    Lines are taken in booking order, so the result does not depend on the file's order."""
    lines = sorted(lines, key=lambda line: (line.booked_on, line.row))
    by_reference = {p.reference: p for p in expected if p.reference}
    used_payments: set[tuple[str, int]] = set()
    matched_lines: set[int] = set()
    matches: list[ProposedMatch] = []

    for line in lines:
        for code in find_references(f"{line.memo} {line.payer_name}"):
            payment = by_reference.get(code)
            if payment is None or payment.key in used_payments:
                continue
            reason = REFERENCE if payment.amount == line.amount else REFERENCE_AMOUNT_DIFFERS
            matches.append(ProposedMatch(line, payment, reason, 100.0))
            used_payments.add(payment.key)
            matched_lines.add(line.row)
            break

    open_by_amount: dict[int, list[ExpectedPayment]] = defaultdict(list)
    for payment in expected:
        if payment.key not in used_payments:
            open_by_amount[payment.amount].append(payment)
    lines_by_amount: dict[int, list[BankLine]] = defaultdict(list)
    for line in lines:
        if line.row not in matched_lines and line.amount in open_by_amount:
            lines_by_amount[line.amount].append(line)
    candidates = []  # (score, line, payment, other gifts that also fit the line)
    for amount, group in lines_by_amount.items():
        payments = open_by_amount[amount]
        scores = _name_scores([line.payer_name for line in group],
                              [p.payer_name for p in payments])
        for i, line in enumerate(group):
            fits = [(float(scores[i, j]), p) for j, p in enumerate(payments)
                    if scores[i, j] >= NAME_MATCH_CUTOFF
                    and (p.created_on is None or p.created_on <= line.booked_on)]
            fits.sort(key=lambda fit: (-fit[0], fit[1].key))
            for score, payment in fits:
                others = tuple(p.gift_id for _, p in fits if p is not payment)
                candidates.append((score, line, payment, others))
    # Best pairs first; an earlier booking wins a tie, so the result does not depend on order.
    candidates.sort(key=lambda c: (-c[0], c[1].booked_on, c[1].row, c[2].key))
    for score, line, payment, others in candidates:
        if line.row in matched_lines or payment.key in used_payments:
            continue
        matches.append(ProposedMatch(line, payment, AMOUNT_AND_NAME, round(score, 1), others))
        used_payments.add(payment.key)
        matched_lines.add(line.row)

    matches.sort(key=lambda m: m.line.row)
    return Reconciliation(
        matches=matches,
        unmatched_lines=[line for line in lines if line.row not in matched_lines],
        unmatched_payments=[p for p in expected if p.key not in used_payments],
        lines=list(lines),
    )


def reconcile_file(data: bytes, filename: str, expected: Sequence[ExpectedPayment]
                   ) -> Reconciliation:
    statement = read_statement(data, filename)
    result = reconcile(statement.lines, expected)
    return Reconciliation(result.matches, result.unmatched_lines, result.unmatched_payments,
                          statement.skipped_rows, result.lines)


def name_score(a: str, b: str) -> float:
    """0–100: the mean of character similarity and pinyin similarity, so that a homophone
    typo (晓/小, 峰/丰) scores high and a different family name does not."""
    return float(_name_scores([a], [b])[0, 0])


def _name_scores(left: Sequence[str], right: Sequence[str]) -> np.ndarray:
    """name_score for every pair, computed as two rapidfuzz matrices (fast for thousands)."""
    left_names = [_normalise_name(name) for name in left]
    right_names = [_normalise_name(name) for name in right]
    chars = process.cdist(left_names, right_names, scorer=fuzz.ratio, dtype=np.float64)
    sounds = process.cdist([_pinyin(n) for n in left_names], [_pinyin(n) for n in right_names],
                           scorer=fuzz.ratio, dtype=np.float64)
    scores = (chars + sounds) / 2
    # An empty name is no evidence at all, whatever rapidfuzz says of two empty strings.
    scores[[not n for n in left_names], :] = 0
    scores[:, [not n for n in right_names]] = 0
    return scores


@lru_cache(maxsize=65536)
def _pinyin(name: str) -> str:
    return "".join(lazy_pinyin(name))


def _normalise_name(name: str) -> str:
    text = unicodedata.normalize("NFKC", name or "").casefold()
    text = re.sub(r"[\s\W_]+", "", text)
    for suffix in _COMPANY_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix) + 1:
            text = text[: -len(suffix)]
            break
    return text
