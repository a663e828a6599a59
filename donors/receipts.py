"""Electronic donation receipts (捐赠收据) and yearly giving statements, as PDF bytes.

Built with fpdf2: pure Python, actively maintained, embeds a subset of a TrueType/TTC font
with a ToUnicode map (so the Chinese text can be searched and extracted), and takes images
from memory, so the QR code never touches the disk. The inputs are plain data: the giving
flow looks up the gift, its ledger transaction and its public URL and passes them in.
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urlsplit

import segno
from fpdf import FPDF, FontFace

from core.money import fmt
from core.privacy import donor_display_name
from donors.amount_words import amount_in_words
from donors.pdf_fonts import chinese_font

# China has kept UTC+8 without daylight saving since 1991: a fixed offset needs no tzdata.
BEIJING = timezone(timedelta(hours=8), "北京时间")
ISSUER = "善联 Shanlian 慈善信息平台"
_FONT = "cjk"


@dataclass(frozen=True)
class Giver:
    """Who gave: an individual is masked (张**) unless they chose to be named; an
    enterprise is always named."""

    name: str
    named: bool = False
    enterprise: bool = False

    @property
    def display(self) -> str:
        return self.name.strip() if self.enterprise else donor_display_name(self.name, self.named)


@dataclass(frozen=True)
class ReceiptData:
    number: str
    giver: Giver
    amount: int  # fen
    purpose: str  # the need or fund, e.g. "微心愿 W-12 一个新书包"
    confirmed_at: datetime  # aware; printed in Beijing time
    ledger_seq: int
    ledger_hash: str
    verify_url: str  # absolute http(s) URL of the public verification page, from settings


@dataclass(frozen=True)
class StatementLine:
    confirmed_at: datetime
    receipt_number: str
    purpose: str
    amount: int  # fen


def receipt_number(confirmed_at: datetime, gift_id: int) -> str:
    """SL-2026-000481: the year in Beijing time and the gift's id, unique and easy to read."""
    return f"SL-{beijing(confirmed_at).year}-{int(gift_id):06d}"


def beijing(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # stored times are UTC
    return moment.astimezone(BEIJING)


def receipt_pdf(data: ReceiptData) -> bytes:
    _check_receipt(data)
    pdf = _document(f"捐赠收据 {data.number}")
    pdf.set_font(_FONT, size=20)
    pdf.cell(0, 12, "捐 赠 收 据", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, size=9)
    pdf.cell(0, 5, "Electronic donation receipt", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    when = beijing(data.confirmed_at)
    rows = [
        ("收据编号 Receipt no.", data.number),
        ("捐赠人 Donor", data.giver.display),
        ("捐赠金额 Amount", fmt(data.amount)),
        ("金额大写 In words", amount_in_words(data.amount)),
        ("捐赠用途 For", data.purpose),
        ("确认日期 Date", f"{when:%Y年%m月%d日 %H:%M} (北京时间)"),
        ("账本交易 Ledger txn", f"#{data.ledger_seq}"),
        ("交易哈希 Txn hash", data.ledger_hash),
    ]
    qr_size = 38
    top = pdf.get_y()
    for index, (label, value) in enumerate(rows):
        pdf.set_font(_FONT, size=10)
        pdf.cell(45, 9, label, border=1)
        # The QR code sits beside the first five rows; the rest (the hash) get the full width.
        width = pdf.epw - 45 - (qr_size + 4 if index < 5 else 0)
        pdf.set_font(_FONT, size=7.5 if label.startswith("交易哈希") else 11)
        pdf.cell(width, 9, _fit(pdf, value, width), border=1, new_x="LMARGIN", new_y="NEXT")
    pdf.image(_qr_png(data.verify_url), x=pdf.l_margin + pdf.epw - qr_size, y=top,
              w=qr_size, h=qr_size)
    pdf.set_xy(pdf.l_margin + pdf.epw - qr_size, top + qr_size)
    pdf.set_font(_FONT, size=7)
    pdf.multi_cell(qr_size, 3.5, "扫码核验 Scan to verify", align="C")

    pdf.set_y(top + 9 * len(rows) + 6)
    pdf.set_font(_FONT, size=9)
    pdf.multi_cell(0, 5, (
        "本收据由平台在捐赠款项确认到账后开具。上述账本交易已写入公开的哈希链账本，"
        "可在核验页面或下载账本后自行核对。\n"
        f"核验地址 Verify at: {data.verify_url}"
    ))
    pdf.ln(2)
    pdf.cell(0, 6, f"开具方 Issued by: {ISSUER}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def statement_pdf(year: int, giver: Giver, lines: Sequence[StatementLine]) -> bytes:
    """年度捐赠明细: every confirmed gift of one year (Beijing time) and the total."""
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValueError(f"not a statement year: {year!r}")
    for line in lines:
        _check_amount(line.amount)
        if beijing(line.confirmed_at).year != year:
            raise ValueError(f"gift {line.receipt_number} is not in {year}")
    ordered = sorted(lines, key=lambda line: (line.confirmed_at, line.receipt_number))
    total = sum(line.amount for line in ordered)

    pdf = _document(f"{year}年度捐赠明细 {giver.display}")
    pdf.set_font(_FONT, size=18)
    pdf.cell(0, 11, f"{year} 年度捐赠明细", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, size=9)
    pdf.cell(0, 5, f"Yearly giving statement {year}", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(_FONT, size=11)
    kind = "捐赠企业 Enterprise" if giver.enterprise else "捐赠人 Donor"
    pdf.cell(0, 7, f"{kind}: {giver.display}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    pdf.set_font(_FONT, size=9)
    # fpdf2's table repeats its heading row on every page and wraps long need titles.
    with pdf.table(col_widths=(28, 40, 70, 36), text_align=("LEFT", "LEFT", "LEFT", "RIGHT"),
                   line_height=6, repeat_headings=1, first_row_as_headings=True,
                   headings_style=FontFace(emphasis=None, fill_color=(235, 235, 235))) as table:
        heading = table.row()
        for text in ("日期 Date", "收据编号 Receipt", "用途 For", "金额 Amount"):
            heading.cell(text)
        for line in ordered:
            row = table.row()
            for text in (f"{beijing(line.confirmed_at):%Y-%m-%d}", line.receipt_number,
                         line.purpose, fmt(line.amount)):
                row.cell(text)
    pdf.ln(2)
    pdf.set_font(_FONT, size=10)
    pdf.cell(0, 8, f"合计 Total: {fmt(total)}（{len(ordered)} 笔）", align="R",
             new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, f"合计大写 In words: {amount_in_words(total)}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(_FONT, size=9)
    pdf.cell(0, 6, f"开具方 Issued by: {ISSUER}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


class _Document(FPDF):
    def footer(self):
        self.set_y(-12)
        self.set_font(_FONT, size=8)
        self.cell(0, 6, f"第 {self.page_no()}/{{nb}} 页", align="C")


def _document(title: str) -> FPDF:
    font_path, index = chinese_font()
    pdf = _Document(format="A4")
    pdf.set_title(title)
    pdf.set_creator(ISSUER)
    pdf.add_font(_FONT, fname=str(font_path), collection_font_number=index)
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    return pdf


def _qr_png(url: str) -> io.BytesIO:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=2)
    buffer.seek(0)
    return buffer


def _fit(pdf: FPDF, text: str, width: float) -> str:
    """Shorten a long need title with an ellipsis so that a table row stays one line."""
    if pdf.get_string_width(text) <= width - 2:
        return text
    while text and pdf.get_string_width(text + "…") > width - 2:
        text = text[:-1]
    return text + "…"


def _check_amount(amount) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError(f"a receipt amount is a positive integer number of fen, not {amount!r}")


def _check_receipt(data: ReceiptData) -> None:
    _check_amount(data.amount)
    url = urlsplit(data.verify_url)
    # The URL comes from configuration (the public base URL), never from a request's Host.
    if url.scheme not in ("http", "https") or not url.netloc:
        raise ValueError(f"verification URL must be absolute http(s): {data.verify_url!r}")
    if not (len(data.ledger_hash) == 64 and all(c in "0123456789abcdef" for c in data.ledger_hash)):
        raise ValueError("ledger hash must be 64 lowercase hex digits")
    if isinstance(data.ledger_seq, bool) or not isinstance(data.ledger_seq, int) or data.ledger_seq < 1:
        raise ValueError("ledger seq must be a positive integer")
    if not data.number.strip() or not data.purpose.strip():
        raise ValueError("a receipt needs a number and a purpose")


__all__ = ["BEIJING", "Giver", "ReceiptData", "StatementLine", "beijing", "receipt_number",
           "receipt_pdf", "statement_pdf"]
