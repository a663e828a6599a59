"""CSV and Excel files of public rows. Amounts are integer fen, as in the ledger.

CSV is streamed (UTF-8 with a BOM so Excel reads the Chinese); XLSX is written with
openpyxl's write-only workbook."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence

from openpyxl import Workbook

from core.errors import UserError

XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
        worksheet.append([_safe(v) for v in row])
    return workbook


def xlsx_bytes(sheet: str, columns: Sequence[str], rows: Iterable[Sequence]) -> bytes:
    out = io.BytesIO()
    _workbook(sheet, columns, rows).save(out)
    return out.getvalue()
