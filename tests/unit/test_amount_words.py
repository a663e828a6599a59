"""Chinese financial capitals: the banks' examples, the zero rules, and a round trip through
an independent parser written here."""
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from donors.amount_words import MAX_FEN, amount_in_words

_DIGIT = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
_PLACE = {"拾": 10, "佰": 100, "仟": 1000}


def parse_capitals(words: str) -> int:
    """A reference reader for 大写金额: back to fen. Strict about what may follow what, so a
    malformed string fails here instead of round-tripping by luck."""
    assert re.fullmatch(r"[零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整]+", words), words
    if words == "零元整":
        return 0
    yuan_part, sep, small = words.partition("元")
    if not sep:  # only 角 and/or 分
        yuan_part, small = "", words
    yuan = _read_integer(yuan_part)
    fen = 0
    if small == "整":
        assert sep, "整 only after 元"
        return yuan * 100
    match = re.fullmatch(r"(?:([壹贰叁肆伍陆柒捌玖])角)?(零)?(?:([壹贰叁肆伍陆柒捌玖])分)?", small)
    assert match and small, f"bad 角/分 part {small!r} in {words}"
    jiao, zero, fen_d = match.groups()
    assert not (jiao and zero), "no 零 between 角 and 分"
    if zero:
        assert fen_d and yuan, "零 before 分 only after 元 when 角 is zero"
    if not jiao and fen_d and yuan:
        assert zero, "元 followed directly by 分 must carry a 零"
    fen = _DIGIT[jiao] * 10 if jiao else 0
    fen += _DIGIT[fen_d] if fen_d else 0
    return yuan * 100 + fen


def _read_integer(text: str) -> int:
    """Sections split on 万亿, 亿, 万; zeros must stand exactly where the rules put them."""
    if not text:
        return 0
    total, seen_higher, skipped = 0, False, False
    for marker, scale in (("万亿", 10**12), ("亿", 10**8), ("万", 10**4), ("", 1)):
        if marker and marker not in text:
            skipped = skipped or seen_higher  # a whole section of zeros inside the number
            continue
        head, text = text.split(marker, 1) if marker else (text, "")
        if not head:
            continue
        value = _read_section(head, after_higher=seen_higher, gap_before=skipped)
        total += value * scale
        seen_higher, skipped = True, False
    return total


def _read_section(text: str, *, after_higher: bool, gap_before: bool) -> int:
    tokens = re.findall(r"零|[壹贰叁肆伍陆柒捌玖][拾佰仟]?", text)
    assert "".join(tokens) == text, text
    value, last_place, zero_seen = 0, 4 if after_higher else None, False
    for token in tokens:
        if token == "零":
            assert not zero_seen, f"two zeros in {text}"
            zero_seen = True
            continue
        place = {"拾": 1, "佰": 2, "仟": 3}.get(token[1:], 0)
        gap = (last_place is not None and last_place - place > 1) or (
            last_place == 4 and gap_before)
        assert zero_seen == gap, f"零 {'missing' if gap else 'misplaced'} in {text}"
        assert last_place is None or place < last_place
        value += _DIGIT[token[0]] * 10**place
        last_place, zero_seen = place, False
    assert not zero_seen, f"trailing 零 in {text}"
    return value


@pytest.mark.parametrize("fen, words", [
    (15000, "壹佰伍拾元整"),
    (123450, "壹仟贰佰叁拾肆元伍角"),
    (1000500, "壹万零伍元整"),
    (10000000, "壹拾万元整"),
    # The People's Bank of China's own examples (one of the permitted forms each).
    (140950, "壹仟肆佰零玖元伍角"),
    (600714, "陆仟零柒元壹角肆分"),
    (168032, "壹仟陆佰捌拾元叁角贰分"),
    (10700053, "壹拾万柒仟元伍角叁分"),
    (32504, "叁佰贰拾伍元零肆分"),
    (0, "零元整"),
    (50, "伍角"),
    (5, "伍分"),
    (55, "伍角伍分"),
    (100, "壹元整"),
    (1000, "壹拾元整"),
    (1500, "壹拾伍元整"),
    (101, "壹元零壹分"),
    (110, "壹元壹角"),
    (1_000_000 * 100, "壹佰万元整"),
    (1_000_100 * 100, "壹佰万零壹佰元整"),
    (1_001_000 * 100, "壹佰万壹仟元整"),
    (10_000_005 * 100, "壹仟万零伍元整"),
    (100_010_000 * 100, "壹亿零壹万元整"),
    (100_000_001 * 100, "壹亿零壹元整"),
    (100_000_000_000 * 100, "壹仟亿元整"),
    (10**12 * 100, "壹万亿元整"),
    (10**9 * 100, "壹拾亿元整"),
    (10_010 * 100, "壹万零壹拾元整"),
    (MAX_FEN, "玖仟玖佰玖拾玖万亿玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
])
def test_known_amounts(fen, words):
    assert amount_in_words(fen) == words


@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_round_trip_through_reference_parser(fen):
    assert parse_capitals(amount_in_words(fen)) == fen


@given(st.integers(min_value=1, max_value=10**12))
def test_whole_yuan_always_end_in_zheng_and_others_never(fen):
    words = amount_in_words(fen)
    assert words.endswith("整") == (fen % 100 == 0)


@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_a_ten_is_never_bare(fen):
    """拾 always has a digit before it (壹拾), so nothing can be written in front of it."""
    words = amount_in_words(fen)
    for i, char in enumerate(words):
        if char == "拾":
            assert i > 0 and words[i - 1] in "壹贰叁肆伍陆柒捌玖", words


@pytest.mark.parametrize("bad", [1.5, "150", None, True, -1, MAX_FEN + 1])
def test_refuses_what_is_not_a_non_negative_integer(bad):
    with pytest.raises((TypeError, ValueError)):
        amount_in_words(bad)


def test_reference_parser_rejects_malformed_words():
    """The reference must be able to say no, or the round trip proves nothing."""
    for bad in ("壹佰零零伍元整", "壹佰元伍分", "壹佰伍拾零元整", "伍角整", "零伍分",
                "壹万伍元整", "壹拾万零柒仟元整", "壹佰零伍拾元整", "壹亿壹元整"):
        with pytest.raises(AssertionError):
            parse_capitals(bad)
