"""Receipts and yearly statements: open the PDF and read its text, and decode the QR image."""
import hashlib
import io
from datetime import UTC, datetime

import pytest
import segno
from pypdf import PdfReader

from donors import pdf_fonts
from donors.receipts import (
    Giver,
    ReceiptData,
    StatementLine,
    receipt_number,
    receipt_pdf,
    statement_pdf,
)

HASH = hashlib.sha256(b"txn 42").hexdigest()
URL = "https://shanlian.example/verify/SL-2026-000481"


def _receipt(**changes) -> ReceiptData:
    fields = dict(number="SL-2026-000481", giver=Giver("张三丰"), amount=15000,
                  purpose="微心愿 W-12 一个新书包", confirmed_at=datetime(2026, 11, 30, 17, 30, tzinfo=UTC),
                  ledger_seq=42, ledger_hash=HASH, verify_url=URL)
    fields.update(changes)
    return ReceiptData(**fields)


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_receipt_carries_everything_a_donor_and_an_auditor_need():
    text = _text(receipt_pdf(_receipt()))
    assert "捐 赠 收 据" in text
    assert "SL-2026-000481" in text
    assert "¥150.00" in text and "壹佰伍拾元整" in text
    assert "微心愿 W-12 一个新书包" in text
    assert "#42" in text and HASH in text
    assert URL in text
    # 17:30 UTC on 30 November is 01:30 on 1 December in Beijing.
    assert "2026年12月01日 01:30" in text


def test_an_individual_is_masked_unless_named_and_an_enterprise_always_named():
    masked = _text(receipt_pdf(_receipt()))
    assert "张**" in masked and "张三丰" not in masked
    assert "张三丰" in _text(receipt_pdf(_receipt(giver=Giver("张三丰", named=True))))
    firm = Giver("滨州爱心企业有限公司", enterprise=True)
    assert "滨州爱心企业有限公司" in _text(receipt_pdf(_receipt(giver=firm)))


def test_capitals_with_jiao_and_fen():
    text = _text(receipt_pdf(_receipt(amount=123450)))
    assert "¥1,234.50" in text and "壹仟贰佰叁拾肆元伍角" in text


def test_qr_code_encodes_the_verification_url():
    pdf = PdfReader(io.BytesIO(receipt_pdf(_receipt())))
    (image,) = pdf.pages[0].images
    picture = image.image.convert("L")
    expected = segno.make(URL, error="m")
    scale, border = 8, 2  # as receipts._qr_png draws it
    modules = [
        [picture.getpixel(((border + x) * scale + scale // 2, (border + y) * scale + scale // 2)) < 128
         for x in range(len(row))]
        for y, row in enumerate(expected.matrix)
    ]
    assert modules == [[bool(cell) for cell in row] for row in expected.matrix]


@pytest.mark.parametrize("change", [
    dict(amount=0), dict(amount=-100), dict(amount=1.5), dict(amount=True),
    dict(verify_url="/verify/SL-1"), dict(verify_url="javascript:alert(1)"),
    dict(ledger_hash="xyz"), dict(ledger_seq=0), dict(number=" "),
])
def test_bad_receipt_data_is_refused(change):
    with pytest.raises(ValueError):
        receipt_pdf(_receipt(**change))


def test_long_purpose_is_shortened_not_spilled():
    text = _text(receipt_pdf(_receipt(purpose="焕新乐园 聊城侯营镇 困境儿童家庭居住环境改造" * 6)))
    assert "焕新乐园" in text and "…" in text
    assert HASH in text  # the hash is never shortened


def test_yearly_statement_lists_gifts_in_order_with_the_total():
    lines = [
        StatementLine(datetime(2026, 3, 1, 2, 0, tzinfo=UTC), "SL-2026-000002", "社区基金 齐明社区", 5),
        StatementLine(datetime(2026, 1, 5, 2, 0, tzinfo=UTC), "SL-2026-000001", "一米阳光 助学", 123450),
    ]
    text = _text(statement_pdf(2026, Giver("李四"), lines))
    assert "2026 年度捐赠明细" in text and "李*" in text and "李四" not in text
    assert text.index("SL-2026-000001") < text.index("SL-2026-000002")
    assert "¥1,234.55" in text and "壹仟贰佰叁拾肆元伍角伍分" in text
    assert "2 笔" in text


def test_statement_spanning_pages_keeps_every_gift_and_the_exact_total():
    lines = [StatementLine(datetime(2026, 1 + i % 12, 1 + i % 28, 4, 0, tzinfo=UTC),
                           f"SL-2026-{i:06d}", f"需求 {i}", 1000 + i) for i in range(90)]
    pdf = statement_pdf(2026, Giver("邹平市某企业", enterprise=True), lines)
    text = _text(pdf)
    assert len(PdfReader(io.BytesIO(pdf)).pages) > 1
    assert all(f"SL-2026-{i:06d}" in text for i in range(90))
    total = sum(1000 + i for i in range(90))
    assert f"¥{total // 100:,}.{total % 100:02d}" in text


def test_statement_refuses_a_gift_from_another_year_in_beijing_time():
    # 16:30 UTC on 31 December 2025 is already 2026 in Beijing: it belongs to 2026.
    new_year = StatementLine(datetime(2025, 12, 31, 16, 30, tzinfo=UTC), "SL-2026-000009", "x", 100)
    assert "SL-2026-000009" in _text(statement_pdf(2026, Giver("王五"), [new_year]))
    with pytest.raises(ValueError):
        statement_pdf(2025, Giver("王五"), [new_year])


def test_empty_statement_says_zero():
    assert "零元整" in _text(statement_pdf(2026, Giver("王五"), []))


def test_receipt_number_uses_the_beijing_year():
    assert receipt_number(datetime(2025, 12, 31, 16, 30, tzinfo=UTC), 481) == "SL-2026-000481"


def test_missing_font_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(pdf_fonts, "CANDIDATES", (("/nonexistent/font.ttc", 0),))
    monkeypatch.delenv("RECEIPT_FONT", raising=False)
    with pytest.raises(pdf_fonts.FontMissing) as caught:
        receipt_pdf(_receipt())
    assert "fonts-wqy-microhei" in caught.value.message("en")
    with pytest.raises(pdf_fonts.FontMissing):
        pdf_fonts.chinese_font({"RECEIPT_FONT": "/nonexistent/other.ttf"})
