"""向您汇报: the report-back PDF an enterprise downloads — its pledges and where the money
went, by county and by need (public-safe: titles, counties, amounts; never a child's
data). Same fpdf2 document and embedded Chinese font as the receipts."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.money import fmt
from donors.receipts import _FONT, _document, _fit


@dataclass(frozen=True)
class ReportLine:
    label: str
    county: str
    amount: int


def report_back_pdf(enterprise: str, as_of: str, totals: Sequence[tuple[str, int]],
                    by_county: Sequence[tuple[str, int, int]],
                    needs: Sequence[ReportLine]) -> bytes:
    pdf = _document(f"{enterprise} 向您汇报")
    pdf.set_font(_FONT, size=18)
    pdf.cell(0, 12, "向您汇报 · Report back", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, size=11)
    pdf.cell(0, 8, f"{enterprise} · 截至 {as_of}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for label, amount in totals:
        pdf.cell(60, 7, label)
        pdf.cell(0, 7, fmt(amount), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
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
