"""Duplicate beneficiaries: the same person entered twice, by one organisation or two.

Exact: the keyed hash (HMAC-SHA256 with the server secret BENEFICIARY_HASH_KEY) of the
normalised 身份证号 — ID numbers are never compared, indexed or kept in plain text here.
Fuzzy: name (characters and pinyin, so 张伟/章伟 score high), birth date (one mistyped or
swapped digit still counts) and address, each scored by rapidfuzz and combined into one
score with the reasons a verifier sees.

The index holds plain records in memory, column by column, and answers a query by scoring
only the records that share a blocking key with it: the same ID hash, the same birth date,
or the same name pinyin (syllables sorted, which also catches swapped characters). With
1,000,000 beneficiaries a block holds a few dozen records, so a query takes a few
milliseconds (bench/duplicates.py measures it).
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

import zhconv
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA

from core.identifiers import validate_id_number
from core.messages import N_

DEVELOPMENT_HASH_KEY = "shanlian-development-beneficiary-key"
DEFAULT_THRESHOLD = 80.0

# Reasons shown to the verifier (message ids, translated when shown).
SAME_ID_NUMBER = N_("身份证号相同")
DIFFERENT_ID_NUMBER = N_("身份证号不同")
SAME_NAME = N_("姓名相同")
SIMILAR_NAME = N_("姓名相近")
SAME_NAME_PINYIN = N_("姓名拼音相同")
SAME_BIRTH_DATE = N_("出生日期相同")
SIMILAR_BIRTH_DATE = N_("出生日期仅一位不同")
SIMILAR_ADDRESS = N_("地址相近")

# How much each field counts. A field missing on either side counts as half agreeing: the
# name alone can never reach a threshold, the name and one more field can.
WEIGHTS = {"name": 0.5, "birth": 0.3, "address": 0.2}
MISSING_FIELD_SCORE = 50.0
# Two different valid ID numbers mean two people unless everything else agrees.
DIFFERENT_ID_PENALTY = 15.0


def hash_key(env: Mapping[str, str] | None = None, *, debug: bool = False) -> bytes:
    """The server secret for ID hashes. Only debug runs and tests may fall back to the
    development value: elsewhere a missing key is a configuration error."""
    env = os.environ if env is None else env
    key = env.get("BENEFICIARY_HASH_KEY")
    if key:
        return key.encode()
    if debug:
        return DEVELOPMENT_HASH_KEY.encode()
    raise RuntimeError("BENEFICIARY_HASH_KEY must be set outside debug and tests")


def id_number_hash(id_number: str, key: bytes) -> str:
    """HMAC-SHA256 (hex) of the normalised ID number; raises IdentifierError if invalid."""
    return hmac.new(key, validate_id_number(id_number).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Record:
    id: int | None
    organisation_id: int | None
    name: str
    birth_date: date | None = None
    address: str = ""
    id_hash: str | None = None


@dataclass(frozen=True)
class Reason:
    message_id: str
    score: float


@functools.lru_cache(maxsize=65536)
def _simplified(char: str) -> str:
    return zhconv.convert(char, "zh-hans")


@functools.lru_cache(maxsize=65536)
def _char_pinyin(char: str) -> str:
    # One character at a time (cached): whole-name conversion costs ~100 µs per name.
    return lazy_pinyin(char)[0].lower()


def normalise_text(text: str | None) -> str:
    """NFKC (full width → ASCII), simplified characters, no spaces or name dots."""
    text = unicodedata.normalize("NFKC", text or "")
    return "".join(_simplified(c) for c in text if not c.isspace() and c not in "·•.-")


def name_pinyin(name: str) -> tuple[str, ...]:
    return tuple(_char_pinyin(c) for c in name)


def _birth(value: date | str | None) -> date | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _name_score(name_a: str, py_a: str, name_b: str, py_b: str) -> tuple[float, str | None]:
    if name_a == name_b:
        return 100.0, SAME_NAME
    if py_a == py_b or sorted(py_a.split()) == sorted(py_b.split()):
        return 95.0, SAME_NAME_PINYIN
    score = max(fuzz.ratio(name_a, name_b), fuzz.ratio(py_a, py_b),
                fuzz.token_sort_ratio(py_a, py_b))
    return score, SIMILAR_NAME if score >= 70 else None


def _birth_score(a: int | None, b: int | None) -> tuple[float | None, str | None]:
    if a is None or b is None:
        return None, None
    if a == b:
        return 100.0, SAME_BIRTH_DATE
    # One mistyped or two swapped digits of YYYYMMDD.
    distance = OSA.distance(f"{date.fromordinal(a):%Y%m%d}", f"{date.fromordinal(b):%Y%m%d}")
    if distance == 1:
        return 80.0, SIMILAR_BIRTH_DATE
    return 0.0, None


# An address splits into its parts, each ending in one of these (省 山东, 市 滨州, 路 黄河五, …).
_ADDRESS_PART = re.compile(
    r".+?(?:街道|社区|单元|省|市|区|县|旗|镇|乡|村|路|街|巷|弄|号|栋|幢|楼|室|组)|.+$")
_REGION_SUFFIXES = ("省", "市", "区", "县", "旗")


def address_parts(address: str) -> str:
    """The street-level parts of a normalised address, space-separated: province, city and
    county are dropped, since every beneficiary of one county shares them."""
    parts = _ADDRESS_PART.findall(address)
    local = [p for p in parts if not p.endswith(_REGION_SUFFIXES)]
    return " ".join(local or parts)


def _address_score(a: str, b: str) -> tuple[float | None, str | None]:
    if not a or not b:
        return None, None
    score = fuzz.ratio(a.replace(" ", ""), b.replace(" ", ""))
    # One address written more fully than the other (building, room): compare their parts
    # as sets, but only when the shorter one still names a street and a number.
    if min(a.count(" "), b.count(" ")) >= 1:
        score = max(score, 0.95 * fuzz.token_set_ratio(a, b))
    return score, SIMILAR_ADDRESS if score >= 75 else None


class DuplicateIndex:
    """Beneficiaries in memory, column-oriented, with blocking keys for fast candidates.
    The organisation id is accepted (rows keep the table's shape) but not scored: the same
    person entered twice by one organisation is a duplicate too."""

    def __init__(self) -> None:
        self._ids: list[int | None] = []
        self._names: list[str] = []
        self._pinyin: list[str] = []
        self._births: list[int | None] = []
        self._addresses: list[str] = []
        self._hashes: list[bytes | None] = []
        self._by_hash: dict[bytes, list[int]] = {}
        self._by_birth: dict[int, list[int]] = {}
        self._by_pinyin: dict[str, list[int]] = {}
        self._removed: set[int] = set()  # positions of records replaced or discarded

    def __len__(self) -> int:
        return len(self._ids) - len(self._removed)

    def discard(self, beneficiary_id: int) -> bool:
        """Forget a beneficiary (deleted, or about to be re-added after an edit). A linear
        scan (a few ms at 1M): edits are rare, and no id → position map costs memory."""
        start = 0
        while True:
            try:
                position = self._ids.index(beneficiary_id, start)
            except ValueError:
                return False
            if position not in self._removed:
                self._removed.add(position)
                return True
            start = position + 1

    def add(self, record: Record | tuple) -> None:
        """Index a beneficiary; one already indexed under the same id is replaced."""
        record = record if isinstance(record, Record) else Record(*record)
        if record.id is not None:
            self.discard(record.id)
        self._append(record)

    def append_new(self, record: Record | tuple) -> None:
        """Index a beneficiary the caller knows is not indexed yet (a new id)."""
        self._append(record)

    @staticmethod
    def _digest(id_hash: str | None) -> bytes | None:
        # 16 bytes of the HMAC are plenty to tell 10^7 people apart and halve the memory.
        return bytes.fromhex(id_hash)[:16] if id_hash else None

    def _append(self, record: Record | tuple) -> None:
        record = record if isinstance(record, Record) else Record(*record)
        name = normalise_text(record.name)
        syllables = name_pinyin(name)
        born = _birth(record.birth_date)
        birth = born.toordinal() if born else None
        digest = self._digest(record.id_hash)
        position = len(self._ids)
        self._ids.append(record.id)
        self._names.append(name)
        self._pinyin.append(" ".join(syllables))
        self._births.append(birth)
        self._addresses.append(address_parts(normalise_text(record.address)))
        self._hashes.append(digest)
        if digest is not None:
            self._by_hash.setdefault(digest, []).append(position)
        if birth is not None:
            self._by_birth.setdefault(birth, []).append(position)
        if syllables:
            self._by_pinyin.setdefault(" ".join(sorted(syllables)), []).append(position)

    def candidates(self, record: Record | tuple, threshold: float = DEFAULT_THRESHOLD,
                   limit: int = 20) -> list[tuple[int, float, tuple[Reason, ...]]]:
        """Indexed beneficiaries that may be the same person as `record`, best first:
        (id, score 0-100, reasons). The record itself (same id) is never its own duplicate."""
        record = record if isinstance(record, Record) else Record(*record)
        name = normalise_text(record.name)
        syllables = name_pinyin(name)
        pinyin = " ".join(syllables)
        born = _birth(record.birth_date)
        birth = born.toordinal() if born else None
        address = address_parts(normalise_text(record.address))
        digest = self._digest(record.id_hash)

        positions: set[int] = set()
        if digest is not None:
            positions.update(self._by_hash.get(digest, ()))
        if birth is not None:
            positions.update(self._by_birth.get(birth, ()))
        if syllables:
            positions.update(self._by_pinyin.get(" ".join(sorted(syllables)), ()))

        found = []
        positions -= self._removed
        for position in positions:
            candidate_id = self._ids[position]
            if record.id is not None and candidate_id == record.id:
                continue
            score, reasons = self._score(name, pinyin, birth, address, digest, position)
            if score >= threshold:
                found.append((candidate_id, round(score, 1), reasons))
        found.sort(key=lambda item: (-item[1], item[0] if item[0] is not None else 0))
        return found[:limit]

    def _score(self, name, pinyin, birth, address, digest, position):
        other_digest = self._hashes[position]
        if digest is not None and digest == other_digest:
            return 100.0, (Reason(SAME_ID_NUMBER, 100.0),)
        reasons = []
        total = 0.0
        parts = (
            ("name", _name_score(name, pinyin, self._names[position], self._pinyin[position])),
            ("birth", _birth_score(birth, self._births[position])),
            ("address", _address_score(address, self._addresses[position])),
        )
        for field, (score, reason) in parts:
            total += WEIGHTS[field] * (MISSING_FIELD_SCORE if score is None else score)
            if reason is not None:
                reasons.append(Reason(reason, round(score, 1)))
        combined = total
        if digest is not None and other_digest is not None:
            combined -= DIFFERENT_ID_PENALTY
            reasons.append(Reason(DIFFERENT_ID_NUMBER, 0.0))
        return max(combined, 0.0), tuple(reasons)


def build_index(rows: Iterable[tuple | Record]) -> DuplicateIndex:
    """An index over rows shaped (id, organisation id, name, birth date, address, id hash),
    e.g. straight from a SELECT over beneficiary_private."""
    index = DuplicateIndex()
    for row in rows:
        index._append(row)  # rows from one table have unique ids: no replacement check
    return index
