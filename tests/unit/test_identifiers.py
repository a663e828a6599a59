"""统一社会信用代码 and 身份证号: real codes pass, every single-character change is refused."""
import random
from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import clock
from core.identifiers import (
    ID_BIRTH_DATE,
    ID_CHARACTER,
    ID_CHECK,
    ID_CHECK_DIGIT,
    ID_EMPTY,
    ID_FUTURE,
    ID_LENGTH,
    ID_REGION,
    USCC_ALPHABET,
    USCC_CHARACTER,
    USCC_CHECK,
    USCC_EMPTY,
    USCC_LENGTH,
    USCC_REGION,
    IdentifierError,
    birth_date_of,
    generate_id_number,
    generate_uscc,
    id_check_digit,
    validate_id_number,
    validate_uscc,
)

# Published examples: the GB 11643 sample number, and a 统一社会信用代码 whose check
# character was computed independently (GB 32100 annex example, 91350100M000100Y43).
REAL_ID = "11010519491231002X"
REAL_USCC = "91350100M000100Y43"


def _refused(validate, value, message_id):
    with pytest.raises(IdentifierError) as caught:
        validate(value)
    assert caught.value.message_id == message_id
    assert caught.value.message("zh_CN") and caught.value.message("en") and caught.value.message("en") != caught.value.message("zh_CN")
    return caught.value


def test_published_examples_are_accepted():
    assert validate_id_number(REAL_ID) == REAL_ID
    assert validate_uscc(REAL_USCC) == REAL_USCC
    assert birth_date_of(REAL_ID) == date(1949, 12, 31)


def test_input_is_normalised():
    assert validate_id_number(" 11010519491231002x ") == REAL_ID
    assert validate_id_number("１１０１０５１９４９１２３１００２Ｘ") == REAL_ID  # full width
    assert validate_uscc("9135 0100 m000 100y 43") == REAL_USCC


@pytest.mark.parametrize("value, message_id", [
    ("", ID_EMPTY), (None, ID_EMPTY), ("   ", ID_EMPTY),
    ("110105491231002", ID_LENGTH),  # the old 15-digit form
    ("11010519491231002XX", ID_LENGTH),
    ("1101051949123100AX", ID_CHARACTER),
    ("11010519491231002Y", ID_CHARACTER),
    ("٣1010519491231002X", ID_CHARACTER),  # an Arabic-Indic digit is not a digit here
    ("991050194912310020", ID_REGION),  # no province 99
    ("110000194912310020", ID_REGION),
    ("110105194902300020", ID_BIRTH_DATE),  # 30 February
    ("110105180001010020", ID_BIRTH_DATE),
    ("110105194912310021", ID_CHECK_DIGIT),
])
def test_bad_id_numbers_are_refused_with_their_message(value, message_id):
    _refused(validate_id_number, value, message_id)


def test_birth_date_in_the_future_is_refused():
    body = "11010520300101001"
    with clock.frozen(datetime(2026, 12, 1)):
        _refused(validate_id_number, body + id_check_digit(body), ID_FUTURE)
    with clock.frozen(datetime(2030, 1, 2)):
        assert validate_id_number(body + id_check_digit(body))


@pytest.mark.parametrize("value, message_id", [
    ("", USCC_EMPTY), (42, USCC_EMPTY),
    ("91350100M000100Y4", USCC_LENGTH),
    ("91350100M000100Y4I", USCC_CHARACTER),  # I is not in the alphabet
    ("91350100O000100Y43", USCC_CHARACTER),
    ("913501A0M000100Y43", USCC_REGION),
    ("91350100M000100Y44", USCC_CHECK),
])
def test_bad_credit_codes_are_refused_with_their_message(value, message_id):
    _refused(validate_uscc, value, message_id)


def test_message_is_english_in_english():
    error = _refused(validate_uscc, "91350100M000100Y44", USCC_CHECK)
    assert "check character" in error.message("en")
    assert "校验位" in error.message("zh_CN")


seeds = st.integers(min_value=0, max_value=2**32)


@given(seeds, st.dates(min_value=date(1900, 1, 1), max_value=date(2025, 12, 31)))
def test_every_generated_id_number_is_accepted(seed, born):
    number = generate_id_number(random.Random(seed), born)
    assert validate_id_number(number) == number and birth_date_of(number) == born


@given(seeds, st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_every_single_character_change_of_an_id_number_is_refused(seed, position, new):
    number = generate_id_number(random.Random(seed))
    changed = number[:position] + new + number[position + 1:]
    if changed == number:
        return
    with pytest.raises(IdentifierError):
        validate_id_number(changed)


@given(seeds)
def test_every_generated_credit_code_is_accepted(seed):
    code = generate_uscc(random.Random(seed))
    assert validate_uscc(code) == code


@given(seeds, st.integers(min_value=0, max_value=17), st.sampled_from(USCC_ALPHABET + "IOZSV"))
def test_every_single_character_change_of_a_credit_code_is_refused(seed, position, new):
    code = generate_uscc(random.Random(seed))
    changed = code[:position] + new + code[position + 1:]
    if changed == code:
        return
    with pytest.raises(IdentifierError):
        validate_uscc(changed)


@given(st.text(max_size=30))
def test_any_text_is_either_valid_or_refused_with_a_message(text):
    for validate in (validate_uscc, validate_id_number):
        try:
            validate(text)
        except IdentifierError as exc:
            assert exc.message_id


def test_check_digit_x_appears_for_real():
    assert ID_CHECK[2] == "X" and REAL_ID.endswith("X")
