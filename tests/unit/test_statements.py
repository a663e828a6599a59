"""Bank-statement reconciliation on statements shaped like Chinese banks' exports, with typos
in payer names, lost and mistyped references, GBK and BOM CSVs and XLSX numeric cells."""
import csv
import io
import random
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from donors.bank_transfer import new_reference
from donors.statements import (
    AMOUNT_AND_NAME,
    REFERENCE,
    REFERENCE_AMOUNT_DIFFERS,
    TRANCHE,
    BankLine,
    ExpectedPayment,
    StatementError,
    name_score,
    parse_fen,
    read_statement,
    reconcile,
    reconcile_file,
)

REF = {name: new_reference() for name in ("a", "b", "c", "d", "e", "f")}


def _typo(code: str) -> str:
    """The same code with its last character changed: fails the check character."""
    return code[:-1] + ("1" if code[-1] != "1" else "2")


EXPECTED = [
    ExpectedPayment(1, REF["a"], 15000, "刘洋"),
    ExpectedPayment(2, REF["b"], 50000, "陈静"),
    ExpectedPayment(3, REF["c"], 20000, "张三丰"),
    ExpectedPayment(4, REF["d"], 30000, "王小明"),
    ExpectedPayment(5, REF["e"], 100000000, "滨州市爱心科技有限公司"),
    ExpectedPayment(6, REF["f"], 10000, "孙丽"),
    ExpectedPayment(7, new_reference(), 30000, "赵敏"),
    ExpectedPayment(8, new_reference(), 88800, "周杰"),  # never paid
]

HEADER = ["交易日期", "交易时间", "借方金额", "贷方金额(元)", "余额", "对方户名", "对方账号",
          "摘要", "附言"]
ROWS = [
    # reference inside 附言, lower case with spaces, and the name right
    ["2026-11-28", "09:01:12", "", "150.00", "1", "刘洋", "6222001", "网银转账",
     f"捐款 {REF['a'].lower().replace('-', ' ')}"],
    # reference in 摘要 without dashes; payer name mistyped (程 for 陈): the reference decides
    ["2026-11-28", "10:15:00", "", "500", "1", "程静", "6222002", REF["b"].replace("-", ""), ""],
    # no reference at all; a homophone typo in the name (峰 for 丰)
    ["2026/11/29", "11:00:00", "", "200.00", "1", "张三峰", "6222003", "转账", "微心愿"],
    # a mistyped reference (fails its check) and a typo in the name (晓 for 小)
    ["20261129", "12:00:00", "", "300.00", "1", "王晓明", "6222004", "汇款",
     f"{_typo(REF['d'])}"],
    # an enterprise's short name, amount with thousands separators
    ["2026年11月30日", "", "", "1,000,000.00", "1", "滨州爱心科技", "3701", "对公", "配捐"],
    # the right reference but a different amount
    ["2026-11-30", "", "", "120.00", "1", "孙丽", "6222006", "", f"{REF['f']}"],
    # a second transfer quoting an already matched reference
    ["2026-11-30", "", "", "150.00", "1", "刘洋", "6222001", "", f"{REF['a']}"],
    # same amount as 赵敏's, but a different family name: not proposed
    ["2026-11-30", "", "", "300.00", "1", "钱敏", "6222007", "转账", ""],
    # money out and a summary row: skipped
    ["2026-11-30", "", "99.00", "", "1", "某供应商", "6222008", "付款", ""],
    ["合计", "", "99.00", "1,002,020.00", "", "", "", "", ""],
]
PREAMBLE = [["中国工商银行 账户明细"], ["账号：1613000000000000123", "户名：滨州市慈善总会"],
            ["起止日期：2026-11-28 至 2026-11-30"], []]


def _csv(encoding: str, delimiter=",") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(PREAMBLE + [HEADER] + ROWS)
    return buffer.getvalue().encode(encoding)


def _check_result(result):
    by_gift = {m.payment.gift_id: m for m in result.matches}
    assert by_gift[1].reason == REFERENCE and by_gift[1].line.payer_name == "刘洋"
    assert by_gift[2].reason == REFERENCE and by_gift[2].line.payer_name == "程静"
    assert by_gift[3].reason == AMOUNT_AND_NAME and by_gift[3].line.payer_name == "张三峰"
    assert by_gift[4].reason == AMOUNT_AND_NAME and by_gift[4].line.payer_name == "王晓明"
    assert by_gift[5].reason == AMOUNT_AND_NAME and by_gift[5].line.amount == 100000000
    assert by_gift[6].reason == REFERENCE_AMOUNT_DIFFERS and by_gift[6].line.amount == 12000
    assert set(by_gift) == {1, 2, 3, 4, 5, 6}
    assert all(m.score == 100 for m in result.matches if m.reason != AMOUNT_AND_NAME)
    assert all(75 <= m.score < 100 for m in result.matches if m.reason == AMOUNT_AND_NAME)
    assert sorted(line.payer_name for line in result.unmatched_lines) == ["刘洋", "钱敏"]
    assert [p.gift_id for p in result.unmatched_payments] == [7, 8]
    assert result.skipped_rows == 2


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_csv_statement_with_typos_in_payer_names(encoding):
    _check_result(reconcile_file(_csv(encoding), "statement.csv", EXPECTED))


def test_tab_separated_export():
    _check_result(reconcile_file(_csv("gbk", "\t"), "statement.txt", EXPECTED))


def _xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _numeric(row):
    """The row as Excel holds it: dates as dates, amounts as numbers."""
    out = list(row)
    if out[0][:4].isdigit() and "-" in out[0]:
        out[0] = datetime.fromisoformat(out[0])
    for i in (2, 3):
        if out[i]:
            out[i] = float(out[i].replace(",", ""))
    return out


def test_xlsx_statement_with_numeric_cells():
    rows = PREAMBLE + [HEADER] + [_numeric(r) for r in ROWS]
    _check_result(reconcile_file(_xlsx(rows), "明细.xlsx", EXPECTED))


def test_xlsx_float_noise_from_a_formula_is_exact_but_a_third_decimal_is_refused():
    assert parse_fen(0.1 + 0.2) == 30
    assert parse_fen(150.00000000000003) == 15000
    assert parse_fen(1234.5) == 123450
    assert parse_fen(19.99) == 1999
    rows = [HEADER, ["2026-11-30", "", "", 12.345, "", "刘洋", "", "", ""]]
    with pytest.raises(StatementError) as caught:
        read_statement(_xlsx(rows), "x.xlsx")
    assert "第 2 行" in caught.value.message("zh_CN")


@given(st.integers(min_value=1, max_value=10**14))
def test_amounts_read_exactly_as_text_and_as_excel_floats(fen):
    yuan = Decimal(fen) / 100
    assert parse_fen(f"{yuan:,.2f}") == fen
    assert parse_fen(f"¥{yuan:.2f}") == fen
    assert parse_fen(float(yuan)) == fen


@pytest.mark.parametrize("bad", ["12.345", "abc", "1.2.3", "NaN", "Infinity"])
def test_bad_amount_text_is_refused_with_its_row(bad):
    rows = [",".join(HEADER), f"2026-11-30,,,{bad},,刘洋,,,"]
    with pytest.raises(StatementError) as caught:
        read_statement("\n".join(rows).encode("utf-8"), "x.csv")
    assert "第 2 行" in caught.value.message("zh_CN") and "Row 2" in caught.value.message("en")


def test_files_that_are_not_statements_are_refused_clearly():
    with pytest.raises(StatementError, match="表头"):
        read_statement("姓名,电话\n张三,138\n".encode(), "x.csv")
    with pytest.raises(StatementError, match="xls"):
        read_statement(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "old.xls")
    with pytest.raises(StatementError):
        read_statement(b"PK\x03\x04 broken zip", "x.xlsx")
    with pytest.raises(StatementError):
        read_statement(b"", "x.csv")
    rows = [",".join(HEADER), "30/13/2026,,,150.00,,刘洋,,,"]
    with pytest.raises(StatementError, match="日期"):
        read_statement("\n".join(rows).encode(), "x.csv")


def test_direction_column_instead_of_credit_and_debit():
    text = "\n".join([
        "记账日期,交易金额,借贷标志,付款人名称,用途",
        f"2026-11-30,150.00,贷,刘洋,{REF['a']}",
        "2026-11-30,80.00,借,某供应商,付款",
    ])
    statement = read_statement(text.encode("gbk"), "x.csv")
    assert [(line.amount, line.payer_name) for line in statement.lines] == [(15000, "刘洋")]
    assert reconcile(statement.lines, EXPECTED).matches[0].reason == REFERENCE


def test_names_homophones_score_high_different_family_names_low():
    assert name_score("张三丰", "张三峰") >= 75
    assert name_score("王小明", "王晓明") >= 75
    assert name_score("滨州市爱心科技有限公司", "滨州爱心科技") >= 75
    assert name_score("滨州市爱心科技有限公司", "滨州市爱心科技有限公司") == 100
    assert name_score("王小明", "李小明") < 75
    assert name_score("赵敏", "钱敏") < 75
    assert name_score("", "张三") == 0


def _line(row, amount, name, memo="", day=30):
    return BankLine(row=row, booked_on=date(2026, 11, day), amount=amount, payer_name=name,
                    memo=memo)


def test_two_equally_good_candidates_are_flagged_for_staff():
    expected = [ExpectedPayment(1, new_reference(), 10000, "张伟"),
                ExpectedPayment(2, new_reference(), 10000, "张伟")]
    (match,) = reconcile([_line(2, 10000, "张伟")], expected).matches
    assert match.payment.gift_id == 1 and match.alternatives == (2,)


def test_a_line_booked_before_the_gift_was_made_is_not_it():
    expected = [ExpectedPayment(1, new_reference(), 10000, "张伟", created_on=date(2026, 12, 1))]
    assert reconcile([_line(2, 10000, "张伟")], expected).matches == []


def test_other_gifts_that_also_fit_are_listed_best_first():
    expected = [ExpectedPayment(1, new_reference(), 10000, "王小明"),
                ExpectedPayment(2, new_reference(), 10000, "王晓明"),
                ExpectedPayment(3, new_reference(), 10000, "李小明")]
    (match,) = reconcile([_line(2, 10000, "王小明")], expected).matches
    assert match.payment.gift_id == 1 and match.alternatives == (2,)


def test_best_name_wins_when_two_lines_want_one_payment():
    expected = [ExpectedPayment(1, new_reference(), 10000, "王小明")]
    result = reconcile([_line(2, 10000, "王晓明"), _line(3, 10000, "王小明")], expected)
    assert [m.line.row for m in result.matches] == [3]
    assert [line.row for line in result.unmatched_lines] == [2]


@given(st.randoms(use_true_random=False))
def test_result_does_not_depend_on_line_order(rnd: random.Random):
    lines = read_statement(_csv("gbk"), "x.csv").lines
    shuffled = list(lines)
    rnd.shuffle(shuffled)
    base, other = reconcile(lines, EXPECTED), reconcile(shuffled, EXPECTED)
    key = [(m.line.row, m.payment.gift_id, m.reason) for m in base.matches]
    assert key == [(m.line.row, m.payment.gift_id, m.reason) for m in other.matches]


@given(st.lists(st.tuples(st.integers(1, 5), st.sampled_from(["张伟", "张玮", "李娜", "王芳"])),
                max_size=12),
       st.lists(st.tuples(st.integers(1, 5), st.sampled_from(["张伟", "李娜", "王芳", "刘强"])),
                max_size=12))
def test_each_line_and_payment_is_used_at_most_once(raw_lines, raw_expected):
    lines = [_line(i + 2, yuan * 100, name) for i, (yuan, name) in enumerate(raw_lines)]
    expected = [ExpectedPayment(i + 1, new_reference(), yuan * 100, name)
                for i, (yuan, name) in enumerate(raw_expected)]
    result = reconcile(lines, expected)
    rows = [m.line.row for m in result.matches]
    gifts = [m.payment.gift_id for m in result.matches]
    assert len(rows) == len(set(rows)) and len(gifts) == len(set(gifts))
    assert all(m.line.amount == m.payment.amount for m in result.matches)
    assert len(result.matches) + len(result.unmatched_lines) == len(lines)
    assert len(result.matches) + len(result.unmatched_payments) == len(expected)


def test_tranches_and_gifts_are_matched_side_by_side_even_with_the_same_ids():
    """A gift and a pledge tranche may share an id (two tables): each is its own payment.
    An enterprise's 对公转账 is found by its code, or by amount and a mistyped name."""
    firm = "滨州鲁北爱心实业有限公司"
    code = new_reference()
    expected = [ExpectedPayment(1, new_reference(), 100_000, "张三丰"),
                ExpectedPayment(1, code, 100_000, firm, kind=TRANCHE),
                ExpectedPayment(2, "", 120_000, firm, kind=TRANCHE),  # never asked for a code
                ExpectedPayment(3, "", 80_000, firm, kind=TRANCHE)]
    lines = [_line(2, 100_000, "滨州鲁北爱心实业有限公同", f"认捐 {code.lower()}", day=1),
             _line(3, 100_000, "张三峰", "捐款", day=2),
             _line(4, 120_000, "滨洲鲁北爱心实业股份有限公司", "第二期", day=3),
             _line(5, 80_000, "滨州鲁南化工有限公司", "货款", day=4)]
    result = reconcile(lines, expected)
    found = {m.line.row: (m.payment.kind, m.payment.gift_id, m.reason) for m in result.matches}
    assert found == {2: (TRANCHE, 1, REFERENCE), 3: ("gift", 1, AMOUNT_AND_NAME),
                     4: (TRANCHE, 2, AMOUNT_AND_NAME)}
    assert [line.row for line in result.unmatched_lines] == [5]  # another company
    assert [(p.kind, p.gift_id) for p in result.unmatched_payments] == [(TRANCHE, 3)]
    # The same tranche paid from a line with its exact name too: that line wins, the
    # mistyped one stays listed for staff.
    twice = reconcile(lines + [_line(6, 120_000, firm, "", day=5)], expected)
    assert {m.line.row for m in twice.matches} == {2, 3, 6}
    assert [line.row for line in twice.unmatched_lines] == [4, 5]


def test_a_tranche_without_a_code_is_not_taken_by_an_empty_reference():
    expected = [ExpectedPayment(7, "", 50_000, "滨州爱心科技有限公司", kind=TRANCHE)]
    result = reconcile([_line(2, 50_000, "另一家公司", "")], expected)
    assert result.matches == [] and len(result.unmatched_payments) == 1
