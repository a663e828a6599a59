"""Duplicate beneficiaries: each kind of near-duplicate is found, different people are not."""
import random
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.identifiers import IdentifierError, generate_id_number
from needs.duplicates import (
    DEFAULT_THRESHOLD,
    DEVELOPMENT_HASH_KEY,
    DIFFERENT_ID_NUMBER,
    SAME_BIRTH_DATE,
    SAME_ID_NUMBER,
    SAME_NAME_PINYIN,
    SIMILAR_ADDRESS,
    SIMILAR_BIRTH_DATE,
    SIMILAR_NAME,
    Record,
    build_index,
    hash_key,
    id_number_hash,
)

KEY = b"test-key"
ID_A = generate_id_number(random.Random(1), date(2014, 3, 15))
ID_B = generate_id_number(random.Random(2), date(2014, 3, 15))
ADDRESS = "山东省滨州市滨城区市中街道黄河五路12号3单元401"

# Other organisations' beneficiaries, including people who share one field with the query.
ROWS = [
    (1, 10, "张伟", date(2014, 3, 15), ADDRESS, id_number_hash(ID_A, KEY)),
    (2, 10, "李娜", date(2014, 3, 15), "山东省潍坊市奎文区东风东街88号", None),
    (3, 11, "张伟", date(1990, 7, 2), "聊城市东昌府区侯营镇王庄村", None),
    (4, 12, "王小明", date(2012, 9, 1), "广西北海市合浦县廉州镇还珠路5号", None),
    (5, 12, "欧阳娜娜", date(2011, 1, 20), "邹平市齐明社区2号楼", None),
]


@pytest.fixture(scope="module")
def index():
    return build_index(ROWS)


def _ids(found):
    return [candidate for candidate, _score, _reasons in found]


def _reasons(found, candidate_id):
    return {r.message_id for c, _s, reasons in found if c == candidate_id for r in reasons}


def test_same_id_number_matches_exactly_whatever_the_spelling(index):
    spelled_otherwise = Record(None, 20, "Zhang Wei", None, "",
                               id_number_hash(ID_A.lower().replace("x", "X"), KEY))
    found = index.candidates(spelled_otherwise)
    assert found[0][0] == 1 and found[0][1] == 100.0
    assert _reasons(found, 1) == {SAME_ID_NUMBER}


def test_id_hash_is_keyed_and_normalised():
    assert id_number_hash(ID_A, KEY) == id_number_hash(f" {ID_A} ", KEY)
    assert id_number_hash(ID_A, KEY) != id_number_hash(ID_A, b"another key")
    assert ID_A not in id_number_hash(ID_A, KEY)
    with pytest.raises(IdentifierError):
        id_number_hash("110105194912310021", KEY)


def test_pinyin_identical_name_same_birth_date(index):
    found = index.candidates(Record(None, 20, "章伟", date(2014, 3, 15), "滨州市滨城区黄河五路12号"))
    assert _ids(found)[0] == 1
    assert {SAME_NAME_PINYIN, SAME_BIRTH_DATE, SIMILAR_ADDRESS} <= _reasons(found, 1)


def test_name_typo_with_same_birth_date_and_address(index):
    found = index.candidates(Record(None, 20, "王小名", date(2012, 9, 1),
                                    "广西北海市合浦县廉州镇还珠路5号"))
    assert _ids(found) == [4]
    found = index.candidates(Record(None, 20, "王少明", date(2012, 9, 1),
                                    "北海市合浦县廉州镇还珠路5号"))
    assert _ids(found) == [4] and SIMILAR_NAME in _reasons(found, 4)


def test_swapped_characters_and_swapped_birth_digits(index):
    # 娜娜欧阳 for 欧阳娜娜, born 2011-01-02 for 2011-01-20 (two digits swapped).
    found = index.candidates(Record(None, 20, "欧阳娜娜", date(2011, 1, 2), "邹平市齐明社区2号楼"))
    assert _ids(found) == [5] and SIMILAR_BIRTH_DATE in _reasons(found, 5)
    found = index.candidates(Record(None, 20, "娜娜欧阳", date(2011, 1, 20), "邹平市齐明社区2号楼"))
    assert _ids(found) == [5]


def test_traditional_and_full_width_spellings(index):
    found = index.candidates(Record(None, 20, "張偉", date(2014, 3, 15),
                                    "山东省滨州市滨城区市中街道黄河五路１２号３单元４０１"))
    assert _ids(found)[0] == 1


@pytest.mark.parametrize("record", [
    # Same birth date as 张伟 and 李娜, otherwise nothing alike.
    Record(None, 20, "赵敏", date(2014, 3, 15), "聊城市阳谷县狮子楼路1号"),
    # The same common name, a different person: other birth date, other town.
    Record(None, 20, "张伟", date(2003, 11, 30), "北海市银海区银滩镇"),
    # Same name and birth date as 张伟 (1) elsewhere in town, but a different ID number.
    Record(None, 20, "张伟", date(2014, 3, 15), "滨州市滨城区渤海七路5号",
           id_number_hash(ID_B, KEY)),
])
def test_different_people_are_not_flagged(index, record):
    assert index.candidates(record, DEFAULT_THRESHOLD) == []


def test_different_id_numbers_lower_the_score_and_say_so(index):
    without_id = Record(None, 20, "张伟", date(2014, 3, 15), "滨州市滨城区渤海七路5号")
    with_id = Record(None, 20, "张伟", date(2014, 3, 15), "滨州市滨城区渤海七路5号",
                     id_number_hash(ID_B, KEY))
    assert _ids(index.candidates(without_id)) == [1]  # flagged on name and birth date alone
    found = index.candidates(with_id, threshold=0)
    assert DIFFERENT_ID_NUMBER in _reasons(found, 1)
    assert dict((c, s) for c, s, _ in found)[1] < DEFAULT_THRESHOLD


def test_a_record_is_not_its_own_duplicate_and_added_records_are_found():
    index = build_index(ROWS)
    assert 1 not in _ids(index.candidates(ROWS[0]))
    index.add((6, 13, "张卫", date(2014, 3, 15), ADDRESS, None))
    assert _ids(index.candidates(ROWS[0]))[0] == 6
    assert len(index) == 6


def test_threshold_and_limit():
    index = build_index(ROWS)
    query = Record(None, 20, "章伟", date(2014, 3, 15), "")
    assert len(index.candidates(query, threshold=0, limit=2)) == 2
    assert index.candidates(query, threshold=101) == []


def test_hash_key_needs_the_environment_outside_debug():
    assert hash_key({"BENEFICIARY_HASH_KEY": "s3cret"}) == b"s3cret"
    assert hash_key({}, debug=True) == DEVELOPMENT_HASH_KEY.encode()
    with pytest.raises(RuntimeError):
        hash_key({})


def test_an_edited_beneficiary_replaces_the_old_record():
    index = build_index(ROWS)
    query = Record(None, 20, "王小名", date(2012, 9, 1), "广西北海市合浦县廉州镇还珠路5号")
    assert _ids(index.candidates(query)) == [4]
    index.add((4, 12, "刘洋", date(1980, 5, 5), "聊城市东昌府区侯营镇", None))  # corrected
    assert index.candidates(query) == [] and len(index) == len(ROWS)
    assert index.discard(4) and not index.discard(4) and len(index) == len(ROWS) - 1
    assert index.candidates(Record(None, 20, "刘洋", date(1980, 5, 5), "")) == []


@given(st.text(max_size=12), st.one_of(st.none(), st.dates()), st.text(max_size=40))
@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_name_and_address_give_scores_between_0_and_100(index, name, born, address):
    for candidate, score, reasons in index.candidates(Record(None, 1, name, born, address), 0):
        assert candidate in {row[0] for row in ROWS} and 0 <= score <= 100
        assert all(isinstance(r.message_id, str) for r in reasons)
