"""向您汇报: the report-back PDF an enterprise downloads — its pledges and where the money
went: a map of the counties (the dashboard's grid, drawn in the PDF), then by county and by
need (public-safe: titles, counties, amounts; never a child's data). Same fpdf2 document and
embedded Chinese font as the receipts."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fpdf import FPDF

from core.money import Money, fmt
from donors.receipts import _FONT, _document, _fit

# The dashboard map's colour (web/charts.PALETTE[0]) and ink, as RGB.
MAP_COLOUR = (0xB3, 0x26, 0x1E)
BORDER = (0x4A, 0x4A, 0x4F)
DARK_INK = (0x1D, 0x1D, 0x1F)
WHITE = (0xFF, 0xFF, 0xFF)
# Millimetres: a city's label, then its counties in cells, as many to a line as fit.
LABEL_W, CELL_W, CELL_H, GAP = 34.0, 23.0, 13.0, 1.5


@dataclass(frozen=True)
class ReportLine:
    label: str
    county: str
    amount: int


@dataclass(frozen=True)
class MapCell:
    """One county of the map; `name` is "" for needs placed at city level only."""

    name: str
    allocated: int
    disbursed: int = 0
    needs: int = 0


MapRow = tuple[str, Sequence[MapCell]]  # a city (省市) and its counties


def report_back_pdf(enterprise: str, as_of: str, totals: Sequence[tuple[str, Money]],
                    by_county: Sequence[tuple[str, int, int]],
                    needs: Sequence[ReportLine], regions: Sequence[MapRow] = ()) -> bytes:
    pdf = _document(f"{enterprise} 向您汇报")
    pdf.set_font(_FONT, size=18)
    pdf.cell(0, 12, "向您汇报 · Report back", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, size=11)
    pdf.cell(0, 8, f"{enterprise} · 截至 {as_of}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for label, amount in totals:
        pdf.cell(60, 7, label)
        pdf.cell(0, 7, fmt(amount), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    _draw_map(pdf, regions)
    pdf.add_page()
    pdf.set_font(_FONT, size=13)
    pdf.cell(0, 9, "资金去向（按县） Where it went, by county", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, size=10)
    for county, amount, count in by_county:
        pdf.cell(90, 6, county)
        pdf.cell(40, 6, fmt(amount))
        pdf.cell(0, 6, f"{count} 项", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(_FONT, size=13)
    pdf.cell(0, 9, "资助的需求 Needs funded", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, size=9)
    for line in needs:
        pdf.cell(100, 6, _fit(pdf, line.label, 100))
        pdf.cell(45, 6, _fit(pdf, line.county, 45))
        pdf.cell(0, 6, fmt(line.amount), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def shade(allocated: Money, top: Money) -> int:
    """Per mille of colour for a cell, as the dashboard's grid shades it: nothing for an
    empty county, then from 6% up to full colour for the largest amount."""
    if allocated <= 0 or top <= 0:
        return 0
    return 60 + (allocated * 1000 // top) * 940 // 1000


def _tint(per_mille: int) -> tuple[int, int, int]:
    """MAP_COLOUR at this opacity over white (PDF viewers differ on transparency; a solid
    colour prints the same everywhere)."""
    return tuple(255 - (255 - c) * per_mille // 1000 for c in MAP_COLOUR)  # type: ignore[return-value]


def _draw_map(pdf: FPDF, rows: Sequence[MapRow]) -> None:
    """The dashboard's map of where the money went: a row of county cells per city, each
    shaded by what was matched there against the largest, with its name and amount."""
    pdf.set_font(_FONT, size=13)
    pdf.cell(0, 9, "资金去向地图 Map of where the money went", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, size=8)
    pdf.multi_cell(0, 4.5, "每格是一个县（市、区），颜色越深，匹配的金额越多。"
                   "Each cell is a county; the darker, the more was matched there.",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    if not rows:
        pdf.set_font(_FONT, size=10)
        pdf.cell(0, 8, "还没有匹配的需求 Nothing matched yet", new_x="LMARGIN", new_y="NEXT")
        return
    top = max((cell.allocated for _place, cells in rows for cell in cells), default=0)
    per_line = max(1, int((pdf.epw - LABEL_W + GAP) // (CELL_W + GAP)))
    for place, cells in rows:
        lines = max(1, -(-len(cells) // per_line))
        height = lines * (CELL_H + GAP)
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
        y0 = pdf.get_y()
        pdf.set_font(_FONT, size=9)
        pdf.set_text_color(*DARK_INK)
        pdf.set_xy(pdf.l_margin, y0 + 1)
        pdf.multi_cell(LABEL_W - 2, 4.5, place)
        for i, cell in enumerate(cells):
            x = pdf.l_margin + LABEL_W + (i % per_line) * (CELL_W + GAP)
            y = y0 + (i // per_line) * (CELL_H + GAP)
            _draw_cell(pdf, x, y, cell, top)
        pdf.set_xy(pdf.l_margin, y0 + height + 1.5)
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(0, 0, 0)
    _legend(pdf)


def _draw_cell(pdf: FPDF, x: float, y: float, cell: MapCell, top: int) -> None:
    pdf.set_fill_color(*_tint(shade(cell.allocated, top)))
    pdf.set_draw_color(*BORDER)
    pdf.set_line_width(0.2)
    pdf.rect(x, y, CELL_W, CELL_H, style="DF")
    # White ink on the darker half, as on the dashboard.
    dark = top > 0 and cell.allocated * 1000 // top > 500
    pdf.set_text_color(*(WHITE if dark else DARK_INK))
    pdf.set_font(_FONT, size=8)
    pdf.set_xy(x + 0.5, y + 1)
    pdf.cell(CELL_W - 1, 5, _fit(pdf, cell.name or "未指明区县", CELL_W - 1))
    pdf.set_font(_FONT, size=7)
    pdf.set_xy(x + 0.5, y + 6.5)
    pdf.cell(CELL_W - 1, 5, _fit(pdf, fmt(cell.allocated) if cell.allocated else "—", CELL_W - 1))


def _legend(pdf: FPDF) -> None:
    """Light to dark: what the shades mean."""
    pdf.ln(2)
    pdf.set_font(_FONT, size=8)
    pdf.cell(16, 5, "少 less")
    x, y = pdf.get_x(), pdf.get_y()
    for step, per_mille in enumerate((60, 295, 530, 765, 1000)):
        pdf.set_fill_color(*_tint(per_mille))
        pdf.set_draw_color(*BORDER)
        pdf.rect(x + step * 7, y + 0.5, 6, 4, style="DF")
    pdf.set_x(x + 5 * 7 + 2)
    pdf.cell(0, 5, "多 more", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(0, 0, 0)

