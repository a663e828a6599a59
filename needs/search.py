"""Search that forgives: typos, pinyin (全拼 and 首字母) and traditional characters.

An in-memory index, built once from plain rows (no Flask, no database here):

* every need becomes three normalized texts — title, meta (programme, organisation,
  county-level region, category, kind) and story — in simplified characters, lower case,
  without spaces or punctuation; plus the pinyin and the pinyin initials of title and meta;
* an inverted index over character unigrams (汉字 only), character bigrams, pinyin trigrams
  and initials bigrams, stored as one sorted numpy key array with CSR postings, built
  vectorized so 100k needs take seconds, not minutes;
* a query is normalized the same way, its grams pick candidates (a doc must share grams with
  every query token, weighted by coverage), and only the best few thousand candidates are
  scored with rapidfuzz (`partial_ratio` per field, weighted).

Regions are indexed at county level only (县级), like every public page: a town or village
below the county is never searchable.

`IndexCache` keeps one index per database and rebuilds it when a cheap marker (count,
max id, ...) changes: synchronously for small indexes, in a background thread for large ones
(the old index keeps answering meanwhile).
"""
from __future__ import annotations

import re
import threading
import time
import unicodedata
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

import numpy as np
from pypinyin import lazy_pinyin
from pypinyin.pinyin_dict import pinyin_dict as PINYIN_DICT
from rapidfuzz import fuzz, process
from zhconv import convert as zh_convert
from zhconv import zhconv as _zhconv

from core.regions import county_display

MAX_QUERY_CHARS = 64
MAX_TOKENS = 8
CANDIDATES = 2000          # rapidfuzz scores at most this many docs per query
MIN_SCORE = 70.0           # below this a hit is noise
RELATIVE_CUTOFF = 0.75     # ... and so is a hit far below the best one

# (field, weight): what a token is compared with, and how much a match there counts.
_TEXT_FIELDS = (("title", 1.0), ("meta", 0.95), ("story", 0.85))
_PINYIN_FIELDS = (("title_py", 0.95), ("meta_py", 0.9))
_INITIAL_FIELDS = (("title_in", 0.9), ("meta_in", 0.85))

# Gram keys: a tag in bits 32-34 over the gram (汉字 folded to 16 bits: a rare collision only
# adds a candidate), so a key and a doc number fit together in one uint64 for sorting.
_TAG_UNI, _TAG_BI, _TAG_PY3, _TAG_IN2 = (np.uint64(t << 32) for t in (1, 2, 3, 4))
_MASK16 = np.uint64(0xFFFF)
_SEP = "\x01"


@dataclass(frozen=True)
class SearchRow:
    """What the index needs to know about one need: public fields only."""

    id: int
    title: str
    story: str = ""
    programme: str = ""
    organisation: str = ""
    region: str = ""
    category: str = ""
    kind: str = ""


@dataclass(frozen=True)
class Hit:
    id: int
    score: float


# ---------------------------------------------------------------------------- normalizing

_t2s_table: dict[int, str] | None = None
_pinyin_full: dict[int, str] | None = None
_pinyin_initial: dict[int, str] | None = None
_DROP = re.compile(r"[^0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_ASCII = re.compile(r"[^0-9a-z]+")
_DROP_NON_ASCII = re.compile(r"[^0-9a-z]+")
_TOKEN_SPLIT = re.compile(r"[\s,，、;；:：/|·.。!！?？]+")


def _t2s() -> dict[int, str]:
    """Single-character traditional → simplified table (str.translate speed for indexing)."""
    global _t2s_table
    if _t2s_table is None:
        _zhconv.loaddict()
        table = {ord(k): v for k, v in _zhconv.zhcdicts["zh2Hans"].items()
                 if len(k) == 1 and len(v) == 1 and k != v}
        _t2s_table = table
    return _t2s_table


def normalize(text: str) -> str:
    """NFKC, simplified characters, lower case; only letters, digits and 汉字 remain."""
    if not text:
        return ""
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    text = text.lower().translate(_t2s())
    return _DROP.sub("", text)


def normalize_query(text: str) -> str:
    """Like `normalize` but phrase-aware for traditional characters (the query is short)."""
    text = unicodedata.normalize("NFKC", text or "")[:MAX_QUERY_CHARS]
    return zh_convert(text, "zh-cn").lower()


def _pinyin_tables() -> tuple[dict[int, str], dict[int, str]]:
    """汉字 → toneless syllable and → its first letter, for every character pypinyin knows
    (built once, about half a second), so converting a text is one `str.translate`."""
    global _pinyin_full, _pinyin_initial
    if _pinyin_full is None:
        full, initial = {}, {}
        for cp in PINYIN_DICT:
            if 0x3400 <= cp <= 0xFAFF:
                syl = _ASCII.sub("", lazy_pinyin(chr(cp))[0].lower())
                if syl:
                    full[cp], initial[cp] = syl, syl[0]
        _pinyin_full, _pinyin_initial = full, initial
    return _pinyin_full, _pinyin_initial


def pinyin(text: str) -> tuple[str, str]:
    """(全拼, 首字母) of normalized text, one reading per character (the common one), so the
    index and the query always agree. Letters and digits pass through; a 汉字 without a
    known reading is dropped."""
    full, initial = _pinyin_tables()
    if text.isascii():
        return text, text
    return (_DROP_NON_ASCII.sub("", text.translate(full)),
            _DROP_NON_ASCII.sub("", text.translate(initial)))


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\ufaff"


# ---------------------------------------------------------------------------- grams

def _codepoints(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Code points of all texts joined by a separator, and the doc index of each."""
    joined = _SEP.join(texts) + _SEP
    cps = np.frombuffer(joined.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    docs = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    return cps, docs


def _char_grams(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Unigram (汉字) and bigram keys of the given texts, with their doc indexes."""
    cps, docs = _codepoints(texts)
    real = cps > 1  # the separator is \x01; normalized text never contains control chars
    cjk = real & (cps >= 0x3400) & (cps <= 0xFAFF)
    cps &= _MASK16
    uni_keys = cps[cjk] | _TAG_UNI
    uni_docs = docs[cjk]
    pair = real[:-1] & real[1:]
    bi_keys = ((cps[:-1][pair] << np.uint64(16)) | cps[1:][pair]) | _TAG_BI
    bi_docs = docs[:-1][pair]
    return np.concatenate([uni_keys, bi_keys]), np.concatenate([uni_docs, bi_docs])


def _ascii_grams(texts: list[str], n: int, tag: np.uint64) -> tuple[np.ndarray, np.ndarray]:
    cps, docs = _codepoints(texts)
    real = cps > 1
    ok = real[: len(cps) - n + 1].copy()
    key = cps[: len(cps) - n + 1].copy()
    for i in range(1, n):
        ok &= real[i: len(cps) - n + 1 + i]
        key = (key << np.uint64(7)) | cps[i: len(cps) - n + 1 + i]
    return key[ok] | tag, docs[: len(cps) - n + 1][ok]


def _query_grams(token: str) -> list[tuple[np.uint64, float]]:
    """(key, weight) of a normalized query token's grams."""
    grams: list[tuple[np.uint64, float]] = []
    if any(_is_cjk(c) for c in token):
        grams += [(np.uint64(ord(c) & 0xFFFF) | _TAG_UNI, 0.5)
                  for c in dict.fromkeys(token) if _is_cjk(c)]
    grams += [(np.uint64(((ord(a) & 0xFFFF) << 16) | (ord(b) & 0xFFFF)) | _TAG_BI, 1.0)
              for a, b in dict.fromkeys(zip(token, token[1:], strict=False))]
    full, _ = pinyin(token)
    for i in range(len(full) - 2):
        a, b, c = (np.uint64(ord(x)) for x in full[i:i + 3])
        grams.append(((a << np.uint64(14)) | (b << np.uint64(7)) | c | _TAG_PY3, 0.7))
    if token.isascii() and 2 <= len(token) <= 12:
        for a, b in zip(token, token[1:], strict=False):
            grams.append(((np.uint64(ord(a)) << np.uint64(7)) | np.uint64(ord(b)) | _TAG_IN2, 0.6))
    return list(dict(grams).items())


def meta_text(r: SearchRow) -> str:
    """Programme, organisation, county-level region, category and kind, normalized."""
    from needs.vocabulary import KIND_WORDS  # imports needs.models, which imports us

    return normalize(" ".join((r.programme, r.organisation, county_display(r.region),
                               r.category, KIND_WORDS.get(r.kind, r.kind))))


def tokens(query: str) -> list[str]:
    """Normalized query tokens (empty when the query holds nothing searchable)."""
    out = []
    for raw in _TOKEN_SPLIT.split(normalize_query(query)):
        tok = _DROP.sub("", raw)
        if tok and not (tok.isascii() and len(tok) < 2):
            out.append(tok)
    return out[:MAX_TOKENS]


# ---------------------------------------------------------------------------- the index

class SearchIndex:
    """Immutable once built; safe to share between threads."""

    def __init__(self, ids, fields: dict[str, list[str]], keys, offsets, postings):
        self.ids = ids
        self.fields = fields
        self.keys = keys
        self.offsets = offsets
        self.postings = postings
        self.built_at = time.monotonic()

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, rows: Iterable[SearchRow]) -> SearchIndex:
        rows = list(rows)
        meta_cache: dict[tuple, tuple[str, str, str]] = {}
        title, meta, story, title_py, title_in, meta_py, meta_in = ([] for _ in range(7))
        for r in rows:
            t = normalize(r.title)
            title.append(t)
            tp, ti = pinyin(t)
            title_py.append(tp)
            title_in.append(ti)
            mkey = (r.programme, r.organisation, r.region, r.category, r.kind)
            m = meta_cache.get(mkey)
            if m is None:
                text = meta_text(r)
                m = meta_cache[mkey] = (text, *pinyin(text))
            meta.append(m[0])
            meta_py.append(m[1])
            meta_in.append(m[2])
            story.append(normalize(r.story))
        fields = {"title": title, "meta": meta, "story": story, "title_py": title_py,
                  "title_in": title_in, "meta_py": meta_py, "meta_in": meta_in}
        ids = np.fromiter((r.id for r in rows), dtype=np.int64, count=len(rows))
        if not rows:
            empty = np.zeros(0, dtype=np.uint64)
            return cls(ids, fields, empty, np.zeros(1, dtype=np.int64), np.zeros(0, np.int32))

        parts = [
            _char_grams([f"{a}{_SEP}{b}{_SEP}{c}" for a, b, c in zip(title, meta, story,
                                                                     strict=True)]),
            _ascii_grams([f"{a}{_SEP}{b}" for a, b in zip(title_py, meta_py, strict=True)],
                         3, _TAG_PY3),
            _ascii_grams([f"{a}{_SEP}{b}" for a, b in zip(title_in, meta_in, strict=True)],
                         2, _TAG_IN2),
        ]
        # Fields are joined with the separator, so no gram spans two fields (or two docs).
        bits = np.uint64(max(20, len(rows).bit_length()))  # key < 2**35, so this fits
        pairs = np.concatenate([(k << bits) | d.astype(np.uint64) for k, d in parts])
        del parts
        pairs.sort()
        keep = np.ones(len(pairs), dtype=bool)
        np.not_equal(pairs[1:], pairs[:-1], out=keep[1:])
        pairs = pairs[keep]
        keys = pairs >> bits
        docs = (pairs & ((np.uint64(1) << bits) - np.uint64(1))).astype(np.int32)
        del pairs, keep
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        unique_keys = keys[starts]
        offsets = np.r_[starts, len(keys)].astype(np.int64)
        return cls(ids, fields, unique_keys, offsets, docs)

    def _posting(self, key: np.uint64) -> np.ndarray | None:
        i = int(np.searchsorted(self.keys, key))
        if i < len(self.keys) and self.keys[i] == key:
            return self.postings[self.offsets[i]:self.offsets[i + 1]]
        return None

    def _candidates(self, toks: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Doc indexes sharing grams with every token, best coverage first, and coverage."""
        n = len(self.ids)
        total = np.zeros(n, dtype=np.float32)
        every = np.ones(n, dtype=bool)
        for tok in toks:
            grams = _query_grams(tok)
            weight_sum = sum(w for _, w in grams) or 1.0
            cover = np.zeros(n, dtype=np.float32)
            for key, w in grams:
                docs = self._posting(key)
                if docs is not None:
                    cover[docs] += w
            cover /= weight_sum
            every &= cover > 0
            total += cover
        found = np.flatnonzero(every)
        if len(found) > CANDIDATES:
            # The best coverage; among equals the newest (docs are in id order), as the
            # PostgreSQL backend picks them (needs.search_pg).
            cover = total[found]
            kth = np.partition(cover, len(found) - CANDIDATES)[len(found) - CANDIDATES]
            above = found[cover > kth]
            tied = found[cover == kth]
            found = np.concatenate([above, tied[len(tied) - (CANDIDATES - len(above)):]])
        return found, total[found]

    def search(self, query: str, limit: int = 50) -> list[Hit]:
        """Best matches first. An empty or unsearchable query finds nothing."""
        toks = tokens(query)
        if not toks or not len(self.ids) or limit <= 0:
            return []
        cand, cover = self._candidates(toks)
        if not len(cand):
            return []
        fields = {name: [values[i] for i in cand] for name, values in self.fields.items()}
        return rank(toks, self.ids[cand], cover, fields, limit)

    def search_ids(self, query: str, limit: int = 1000, session=None) -> list[int]:
        """Ids of the best matches (`session` is for backends that read a database)."""
        return [h.id for h in self.search(query, limit)]


def rank(toks: list[str], ids: np.ndarray, cover: np.ndarray,
         fields: dict[str, list[str]], limit: int) -> list[Hit]:
    """Score candidates (their ids, gram coverage and normalized fields, aligned) against the
    query tokens with rapidfuzz; the best `limit` above the cut-offs, best first. Shared by
    the in-memory index and the PostgreSQL backend (needs.search_pg), so both rank alike."""
    n = len(ids)
    scores = np.zeros(n, dtype=np.float32)
    for tok in toks:
        best = np.zeros(n, dtype=np.float32)
        py, _ = pinyin(tok)
        # Numbers are matched exactly: 2026 is not "almost" 2027, nor a phone number
        # "almost" a year in a title.
        numeric = tok.isdigit()
        plans = [(tok, name, weight, numeric) for name, weight in _TEXT_FIELDS]
        if py and not numeric:
            homophone = 1.0 if tok.isascii() else 0.9  # a 汉字 typo sounding alike
            plans += [(py, name, weight * homophone, False) for name, weight in _PINYIN_FIELDS]
        if tok.isascii() and tok.isalpha():
            plans += [(tok, name, weight, True) for name, weight in _INITIAL_FIELDS]
        for needle, name, weight, exact in sorted(plans, key=lambda p: -p[2]):
            # Only docs this field could still improve are scored (most stop early).
            todo = np.flatnonzero(best < 100 * weight)
            if not len(todo):
                break
            values = fields[name]
            got = _ratio(needle, [values[i] for i in todo])
            if exact:
                got = np.where(got >= 100, 100.0, 0.0)
            best[todo] = np.maximum(best[todo], weight * got)
        title = fields["title"]
        literal = np.fromiter((tok in t for t in title), dtype=bool, count=n)
        scores += best + np.where(literal, 3.0, 0.0)
    scores /= len(toks)
    ok = scores >= max(MIN_SCORE, RELATIVE_CUTOFF * float(scores.max()))
    ids, scores, cover = ids[ok], scores[ok], cover[ok]
    order = np.lexsort((-ids, -cover, -np.round(scores, 1)))[:limit]
    return [Hit(int(ids[i]), round(float(scores[i]), 1)) for i in order]


def _ratio(needle: str, haystack: list[str]) -> np.ndarray:
    return process.cdist([needle], haystack, scorer=fuzz.partial_ratio,
                         dtype=np.float32, workers=1)[0]


# ---------------------------------------------------------------------------- the cache

class IndexCache:
    """One index per database, rebuilt when `marker()` changes.

    `get(marker, load, load_in_background)`: `marker()` is cheap (a count and a few maxima);
    `load()` returns the rows using the caller's session; `load_in_background()` returns them
    using its own session (for a rebuild in a thread while the old index keeps answering).
    Small indexes (fewer than `sync_below` docs) are rebuilt synchronously, so a change is
    searchable at once, and their marker is read on every call; large ones read it at most
    every `check_every` seconds. An index older than `max_age` seconds is rebuilt even if the
    marker did not move (edits of a need's text do not move it).
    """

    def __init__(self, check_every: float = 2.0, sync_below: int = 20_000,
                 max_age: float = 900.0):
        self.check_every = check_every
        self.max_age = max_age
        self.sync_below = sync_below
        self._index: SearchIndex | None = None
        self._marker: Hashable = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._building = False

    def invalidate(self) -> None:
        with self._lock:
            self._marker = None
            self._checked = 0.0

    def get(self, marker: Callable[[], Hashable], load: Callable[[], Iterable[SearchRow]],
            load_in_background: Callable[[], Iterable[SearchRow]] | None = None) -> SearchIndex:
        now = time.monotonic()
        index = self._index
        # A large index is rebuilt in the background anyway (seconds behind), so its marker
        # need not be read on every search either: at most every `check_every` seconds.
        if (index is not None and len(index) >= self.sync_below
                and now - self._checked < self.check_every):
            return index
        current = marker()
        self._checked = now
        if not self._stale(index, current, now):
            return index
        if (index is not None and load_in_background is not None
                and len(index) >= self.sync_below):
            self._rebuild_in_background(current, load_in_background)
            return index
        with self._lock:
            if self._stale(self._index, current, now):
                self._index = SearchIndex.build(load())
                self._marker = current
            return self._index

    def _stale(self, index: SearchIndex | None, current: Hashable, now: float) -> bool:
        return (index is None or current != self._marker
                or now - index.built_at >= self.max_age)

    def _rebuild_in_background(self, current: Hashable, load: Callable) -> None:
        with self._lock:
            if self._building:
                return
            self._building = True

        def work():
            try:
                fresh = SearchIndex.build(load())
                with self._lock:
                    self._index, self._marker = fresh, current
            finally:
                self._building = False

        threading.Thread(target=work, name="search-index", daemon=True).start()
