"""CSV and Excel files of public rows, for people: headers in the visitor's language, and
beside every machine column of integer fen (as in the ledger) a column in yuan.

CSV is streamed (UTF-8 with a BOM so Excel and WPS read the Chinese); XLSX is written with
openpyxl's write-only workbook."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from flask_babel import gettext, lazy_gettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from core.errors import UserError

XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"  # as content_type: mimetype= would add a second charset

# The readside's machine column names → headers for people (the catalog has the English).
HEADERS = {
    "code": lazy_gettext("编号"), "kind": lazy_gettext("类型"), "title": lazy_gettext("名称"),
    "category": lazy_gettext("领域"), "county": lazy_gettext("地区（县级）"),
    "programme": lazy_gettext("公益计划"), "organisation": lazy_gettext("机构"),
    "amount_fen": lazy_gettext("目标金额（分）"), "funded_fen": lazy_gettext("已筹（分）"),
    "disbursed_fen": lazy_gettext("已拨付（分）"), "state": lazy_gettext("状态"),
    "people": lazy_gettext("受益人数"), "deadline": lazy_gettext("截止日期"),
    "verified_at": lazy_gettext("审核时间（UTC）"),
    "last_disclosed_at": lazy_gettext("最近公开时间（UTC）"),
    "seq": lazy_gettext("交易号"), "at": lazy_gettext("时间（UTC）"), "ref": lazy_gettext("业务编号"),
    "memo": lazy_gettext("说明"), "account": lazy_gettext("账户"),
    "hash": lazy_gettext("哈希"), "name": lazy_gettext("名称"),
    "money_in_fen": lazy_gettext("收入（分）"), "granted_fen": lazy_gettext("拨出（分）"),
    "balance_fen": lazy_gettext("余额（分）"), "enterprise_code": lazy_gettext("企业编号"),
    "enterprise": lazy_gettext("企业"), "pledge": lazy_gettext("认捐编号"),
    "need_code": lazy_gettext("需求编号"), "need_title": lazy_gettext("需求名称"),
    "allocated_fen": lazy_gettext("配置金额（分）"),
    "need_disbursed_share_fen": lazy_gettext("其中已拨付（分）"),
    "ledger_seq": lazy_gettext("账本交易号"),
}
# A name that means something else in the ledger's rows (a posting's amount, not a target).
LEDGER_HEADERS = {"amount_fen": lazy_gettext("金额（分）")}
YUAN_SUFFIX = lazy_gettext("（元）")


def _is_fen(column: str) -> bool:
    return column.endswith("_fen")


def headers_for_people(columns: Sequence[str], ledger: bool = False) -> list[str]:
    """Localized headers; each fen column is followed by its yuan column."""
    out = []
    names = {**HEADERS, **LEDGER_HEADERS} if ledger else HEADERS
    for column in columns:
        header = str(names.get(column, column))
        out.append(header)
        if _is_fen(column):
            out.append(header.replace(gettext("（分）"), "") + str(YUAN_SUFFIX))
    return out


def yuan(fen: int) -> Decimal:
    """Exact yuan with two places (a Decimal, never a float): 15000 → 150.00."""
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


def rows_for_people(columns: Sequence[str], rows: Iterable[Sequence]) -> Iterator[list]:
    fen_at = {i for i, column in enumerate(columns) if _is_fen(column)}
    for row in rows:
        out = []
        for i, value in enumerate(row):
            out.append(value)
            if i in fen_at:
                out.append(yuan(value))
        yield out


def _safe(value):
    """Spreadsheet formula injection: a text cell must not start a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_lines(columns: Sequence[str], rows: Iterable[Sequence]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield "\ufeff" + _drain(buffer)
    for count, row in enumerate(rows, start=1):
        writer.writerow([_safe(v) for v in row])
        if count % 500 == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    value = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate(0)
    return value


def _yuan_cell(worksheet, value: Decimal) -> WriteOnlyCell:
    """A yuan amount stays a number in Excel, shown with two decimals."""
    cell = WriteOnlyCell(worksheet, value=value)
    cell.number_format = "#,##0.00"
    return cell


def write_csv(path, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        for chunk in csv_lines(columns, rows):
            out.write(chunk)


def write_xlsx(path, sheet: str, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Straight to a file: the write-only workbook keeps no rows in memory."""
    workbook = _workbook(sheet, columns, rows)
    workbook.save(path)


def _workbook(sheet: str, columns: Sequence[str], rows: Iterable[Sequence]) -> Workbook:
    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(sheet[:31])
    worksheet.append(list(columns))
    for count, row in enumerate(rows, start=1):
        if count > XLSX_MAX_ROWS:
            raise UserError("数据超过 Excel 行数上限，请下载 CSV")
        worksheet.append([_yuan_cell(worksheet, v) if isinstance(v, Decimal) else _safe(v)
                          for v in row])
    return workbook


def xlsx_bytes(sheet: str, columns: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    out = io.BytesIO()
    _workbook(sheet, columns, rows).save(out)
    return out.getvalue()
