"""An amount in integer fen as Chinese financial capitals (大写金额), as banks write it.

The rules are the People's Bank of China's for cheques and receipts (《正确填写票据和结算凭证的
基本规定》):
- 整 follows 元 when there are no 角 or 分; after 角 it is left out (伍角, not 伍角整);
- zeros follow the language: one 零 for a run of zeros inside a section or at the start of
  the next one, none for zeros that end a section (壹万零伍元整, 壹亿零壹万元整,
  壹拾万柒仟元整, 壹佰万零壹佰元整), and 零 is written between 元 and 分 when 角 is zero
  (叁佰贰拾伍元零肆分);
- a leading 拾 is written 壹拾 (壹拾万元整), so that nothing can be added in front of it.
Where the rules allow either form (zeros in the 元 place before a non-zero 角 may be written
as one 零 or left out: 壹仟陆佰捌拾元叁角贰分), we always leave it out.
"""
from __future__ import annotations

DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACE_UNITS = ("", "拾", "佰", "仟")  # within a four-digit section
_SECTION_UNITS = ("", "万", "亿", "万亿")

# 9,999,999,999,999,999.99 yuan: sixteen integer digits, the four sections 万亿 can name.
MAX_FEN = 10**18 - 1


def amount_in_words(fen: int) -> str:
    """15000 → 壹佰伍拾元整; 123450 → 壹仟贰佰叁拾肆元伍角; 1000500 → 壹万零伍元整."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError(f"amount must be an integer number of fen, not {type(fen).__name__}")
    if fen < 0:
        # A receipt never shows a negative amount; refunds print the positive sum with a label.
        raise ValueError("amount must not be negative")
    if fen > MAX_FEN:
        raise ValueError("amount is too large to write in capitals")
    yuan, rest = divmod(fen, 100)
    jiao, fen_digit = divmod(rest, 10)

    if yuan == 0 and rest == 0:
        return "零元整"
    words = _yuan_words(yuan) + "元" if yuan else ""
    if jiao == 0 and fen_digit == 0:
        return words + "整"
    if jiao:
        words += DIGITS[jiao] + "角"
    elif yuan:
        words += "零"  # 元零肆分: the missing 角 must show
    if fen_digit:
        words += DIGITS[fen_digit] + "分"
    return words


def _yuan_words(yuan: int) -> str:
    """The integer part (> 0) with 拾佰仟 inside sections of four digits and 万/亿 between them."""
    sections = []
    while yuan:
        yuan, section = divmod(yuan, 10_000)
        sections.append(section)

    out: list[str] = []
    pending_zero = False  # a gap since the last digit written, to show as one 零
    for index in range(len(sections) - 1, -1, -1):
        section = sections[index]
        if section == 0:
            pending_zero = bool(out)
            continue
        digits = [section // 1000, section // 100 % 10, section // 10 % 10, section % 10]
        for place, digit in enumerate(digits):
            unit = _PLACE_UNITS[3 - place]
            if digit == 0:
                pending_zero = pending_zero or bool(out)
                continue
            if pending_zero:
                out.append("零")
                pending_zero = False
            out.append(DIGITS[digit] + unit)
        out.append(_SECTION_UNITS[index])
        # Zeros at the end of a section are not read (壹拾万柒仟, not 壹拾万零柒仟); zeros at
        # the start of the next one, or a whole section of zeros, are (壹万零伍, 壹亿零壹万).
        pending_zero = False
    return "".join(out)
