"""Search in PostgreSQL: the same forgiving search as needs.search, without an index in each
process.

Each public need has one `need_search` row: its normalized texts (title, meta, story — the
in-memory index's fields, made by the same functions), their pinyin and pinyin initials, and
three key columns:

* `grams`: the in-memory index's grams as a text array with a GIN index — every 汉字, every
  pair of neighbouring characters of title, meta and story, "p" + every 3-letter run of the
  title's and meta's 全拼, "i" + every pair of their 首字母. (pg_trgm cannot serve 汉字: its
  trigrams are padded at word boundaries, and unsegmented Chinese is one long "word", so a
  two-character query inside a title shares no trigram with it.)
* `tgrams`: the title's grams alone, GIN-indexed too (small, so a common word is checked
  cheaply);
* `py`: the title's 全拼, with a pg_trgm GIN index, for typos in longer pinyin (the title's
  alone: with the meta's, common syllables made PostgreSQL check most rows).

A need is a candidate when, for every query token, it holds all the token's pairs (or all its
pinyin runs — a homophone typo in 汉字 —, or all its initials pairs), or all its 汉字 but one
(a wrong character in a longer token), or all its pinyin runs but one or two (a typo in short
pinyin), or its pinyin is within pg_trgm's word similarity (`THRESHOLD`) of the token's (in
longer pinyin). Candidates are taken in tiers, newest first, until there are `CANDIDATES`:
every token in the title, then every token exactly anywhere, then — only when fewer than
`FUZZY_BELOW` matched exactly — with typos.
They are then scored with rapidfuzz exactly as the in-memory index scores its candidates
(`needs.search.rank`), so both backends rank alike.

The rows are written in the same transaction as the change that makes them (a need posted,
edited, verified, hidden, closed; an organisation or programme renamed): `after_flush` notes
the needs whose searchable text or public state changed, `before_commit` rewrites their rows
before the data version is bumped. So a committed change is searchable at once, on every
worker of every host, with nothing to rebuild. Only on PostgreSQL: on SQLite the in-memory
index is used and the table stays empty.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import combinations

import numpy as np
from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    bindparam,
    event,
    inspect,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Field, SQLModel

from needs.search import (
    CANDIDATES,
    Hit,
    SearchRow,
    _is_cjk,
    meta_text,
    normalize,
    pinyin,
    rank,
    tokens,
)

PUBLIC = ("verified", "funded", "disbursed", "delivered", "closed")  # = models.PUBLIC_STATES
THRESHOLD = 0.5        # pg_trgm.word_similarity_threshold: a pinyin token "near" a need's
FUZZY_BELOW = 200      # typos are looked for when fewer candidates match exactly
BATCH = 2000
FIELDS = ("title", "meta", "story", "title_py", "title_in", "meta_py", "meta_in")
_COLUMNS = ("need_id", *FIELDS, "grams", "tgrams", "py")
# A need's row changes when one of these changes (or its state enters or leaves PUBLIC).
_SEARCHED = ("title", "story", "region", "category", "kind", "programme_id", "organisation_id")
GRAMS = JSON().with_variant(ARRAY(Text), "postgresql")  # SQLite: an unused column
_TOUCHED = "shanlian_search_touched"   # session.info: need ids / ("organisation"|"programme", id)

_ROWS_SQL = (
    "SELECT n.id, n.title, n.story, p.name, o.name, n.region, n.category, n.kind "
    "FROM need n JOIN organisation o ON o.id = n.organisation_id "
    "LEFT JOIN programme p ON p.id = n.programme_id "
    f"WHERE n.state IN ({', '.join(repr(state) for state in PUBLIC)})")
_INSERT = text(f"INSERT INTO need_search ({', '.join(_COLUMNS)}) "
               f"VALUES ({', '.join(':' + c for c in _COLUMNS)})")


class NeedSearch(SQLModel, table=True):
    """One public need's searchable texts (see the module's docstring). Written only here."""

    __tablename__ = "need_search"
    __table_args__ = (
        Index("ix_need_search_grams", "grams", postgresql_using="gin"),
        Index("ix_need_search_tgrams", "tgrams", postgresql_using="gin"),
        Index("ix_need_search_py", "py", postgresql_using="gin",
              postgresql_ops={"py": "gin_trgm_ops"}),
    )
    need_id: int = Field(sa_column=Column(
        Integer, ForeignKey("need.id", ondelete="CASCADE"), primary_key=True))
    title: str = Field(sa_column=Column(Text, nullable=False))
    meta: str = Field(sa_column=Column(Text, nullable=False))
    story: str = Field(sa_column=Column(Text, nullable=False))
    title_py: str = Field(sa_column=Column(Text, nullable=False))
    title_in: str = Field(sa_column=Column(Text, nullable=False))
    meta_py: str = Field(sa_column=Column(Text, nullable=False))
    meta_in: str = Field(sa_column=Column(Text, nullable=False))
    grams: list[str] = Field(sa_column=Column(GRAMS, nullable=False))
    tgrams: list[str] = Field(sa_column=Column(GRAMS, nullable=False))
    py: str = Field(sa_column=Column(Text, nullable=False))


# ---------------------------------------------------------------------------- rows

def token_grams(tok: str) -> tuple[list[str], list[str], list[str]]:
    """(text grams, pinyin grams, initials grams) of one normalized token or field, in the
    `grams` column's spelling: 汉字 alone and character pairs; "p" + 3-letter pinyin runs;
    "i" + initials pairs."""
    text_ = [c for c in tok if _is_cjk(c)] + [tok[i:i + 2] for i in range(len(tok) - 1)]
    full, _ = pinyin(tok)
    py = ["p" + full[i:i + 3] for i in range(len(full) - 2)]
    initials = ["i" + tok[i:i + 2] for i in range(len(tok) - 1)]
    return text_, py, initials


def _grams(title: str, meta: str, story: str, pys: tuple[str, ...], ins: tuple[str, ...]
           ) -> list[str]:
    out: set[str] = set()
    for field in (title, meta, story):
        out.update(c for c in field if _is_cjk(c))
        out.update(field[i:i + 2] for i in range(len(field) - 1))
    for field in pys:
        out.update("p" + field[i:i + 3] for i in range(len(field) - 2))
    for field in ins:
        out.update("i" + field[i:i + 2] for i in range(len(field) - 1))
    return sorted(out)


def row_values(r: SearchRow, meta_cache: dict | None = None) -> dict[str, object]:
    """The `need_search` row of one public need."""
    title = normalize(r.title)
    title_py, title_in = pinyin(title)
    key = (r.programme, r.organisation, r.region, r.category, r.kind)
    m = meta_cache.get(key) if meta_cache is not None else None
    if m is None:
        meta = meta_text(r)
        m = (meta, *pinyin(meta))
        if meta_cache is not None:
            meta_cache[key] = m
    meta, meta_py, meta_in = m
    story = normalize(r.story)
    return {"need_id": r.id, "title": title, "meta": meta, "story": story,
            "title_py": title_py, "title_in": title_in, "meta_py": meta_py, "meta_in": meta_in,
            "grams": _grams(title, meta, story, (title_py, meta_py), (title_in, meta_in)),
            "tgrams": _grams(title, "", "", (title_py,), (title_in,)),
            "py": title_py}


def _rows(conn, ids: Sequence[int] | None = None, after: int = 0,
          limit: int | None = None) -> list[SearchRow]:
    sql = _ROWS_SQL
    params: dict = {}
    if ids is not None:
        sql += " AND n.id IN :ids"
        params["ids"] = list(ids)
    else:
        sql += " AND n.id > :after"
        params["after"] = after
    sql += " ORDER BY n.id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    stmt = text(sql)
    if ids is not None:
        stmt = stmt.bindparams(bindparam("ids", expanding=True))
    return [SearchRow(i, t, s or "", p or "", o or "", rg or "", c or "", k or "")
            for i, t, s, p, o, rg, c, k in conn.execute(stmt, params).all()]


def refresh(conn, need_ids: Iterable[int]) -> int:
    """Rewrite the rows of these needs (removed when a need is not public). `conn` is a
    session or a connection; the caller commits. Returns the rows written."""
    ids = sorted(set(need_ids))
    written = 0
    cache: dict = {}
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        conn.execute(text("DELETE FROM need_search WHERE need_id IN :ids")
                     .bindparams(bindparam("ids", expanding=True)), {"ids": chunk})
        values = [row_values(r, cache) for r in _rows(conn, chunk)]
        if values:
            conn.execute(_INSERT, values)
        written += len(values)
    return written


_INDEXES = {"ix_need_search_grams": "USING gin (grams)",
            "ix_need_search_tgrams": "USING gin (tgrams)",
            "ix_need_search_py": "USING gin (py gin_trgm_ops)"}


def rebuild(conn, progress=None, reindex: bool = False) -> int:
    """Rewrite every row (the backfill). The caller commits. With `reindex` the GIN indexes
    are dropped first and built again after (several times faster for a whole table, but
    searches wait for the transaction meanwhile)."""
    if reindex:
        for name in _INDEXES:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
    conn.execute(text("DELETE FROM need_search"))
    try:
        return _fill(conn, progress)
    finally:
        if reindex:
            for name, how in _INDEXES.items():
                conn.execute(text(f"CREATE INDEX {name} ON need_search {how}"))


def _fill(conn, progress) -> int:
    after, written, cache = 0, 0, {}
    while True:
        batch = _rows(conn, after=after, limit=BATCH)
        if not batch:
            return written
        conn.execute(_INSERT, [row_values(r, cache) for r in batch])
        written += len(batch)
        after = batch[-1].id
        if progress:
            progress(written)


# ---------------------------------------------------------------------------- queries

def _token_conditions(n: int, tok: str, params: dict) -> tuple[str, str, list[str]]:
    """SQL conditions for one token: (in the title, exactly anywhere, [exactly anywhere or
    each kind of typo])."""
    text_, py, initials = token_grams(tok)
    sets = {f"t{n}": text_ if len(tok) > 1 else [tok]}
    if py and not tok.isdigit():
        sets[f"p{n}"] = py
    if tok.isascii() and tok.isalpha() and 2 <= len(tok) <= 12:
        sets[f"i{n}"] = initials
    for name, grams in sets.items():
        params[name] = sorted(set(grams))
    title = " OR ".join(f"tgrams @> CAST(:{name} AS text[])" for name in sets)
    exact = " OR ".join(f"grams @> CAST(:{name} AS text[])" for name in sets)
    fuzzy = []
    cjk = list(dict.fromkeys(c for c in tok if _is_cjk(c)))
    if len(cjk) >= 4:  # a wrong character in a longer token: all the others are there
        for k in range(len(cjk)):
            params[f"u{n}_{k}"] = sorted(cjk[:k] + cjk[k + 1:])
            fuzzy.append(f"grams @> CAST(:u{n}_{k} AS text[])")
    full, _ = pinyin(tok)
    runs = sorted(set(py)) if not tok.isdigit() else []
    if 3 <= len(runs) <= 6:  # a typo in short pinyin: all its 3-letter runs but one or two
        # (two letters swapped break two runs: "zhuxeu" keeps only zhu and hux of zhuxue)
        for k, kept in enumerate(combinations(runs, len(runs) - (1 if len(runs) == 3 else 2))):
            params[f"q{n}_{k}"] = list(kept)
            fuzzy.append(f"grams @> CAST(:q{n}_{k} AS text[])")
    if len(full) >= 8 and not tok.isdigit():  # in longer pinyin: pg_trgm's word similarity
        params[f"y{n}"] = full
        fuzzy.append(f":y{n} <% py")
    return f"({title})", f"({exact})", [f"({exact})", *fuzzy]


def candidates_sql(toks: list[str]) -> tuple[list[str], dict]:
    """The candidate queries, in order: every token in the title; every token exactly
    somewhere; every token exactly or fuzzily. Each returns ids, newest first, at most
    `CANDIDATES` (so a common word is answered by walking the newest needs, and a rare one
    by the GIN indexes)."""
    params: dict = {}
    title, exact, fuzzy = [], [], []
    for n, tok in enumerate(toks):
        t, e, f = _token_conditions(n, tok, params)
        title.append(t)
        exact.append(e)
        # One query per way a token may match, so each is answered by one GIN index (ORed
        # together in one WHERE, PostgreSQL would rather test them all on every row).
        fuzzy.append("(" + " UNION ".join(f"SELECT need_id FROM need_search WHERE {c}"
                                          for c in f) + ")")
    newest = f"ORDER BY need_id DESC LIMIT {CANDIDATES}"
    sqls = [f"SELECT need_id FROM need_search WHERE {' AND '.join(conds)} {newest}"
            for conds in (title, exact)]
    sqls.append(f"SELECT need_id FROM ({' INTERSECT '.join(fuzzy)}) AS found {newest}")
    return sqls, params


def coverage(toks: list[str], fields: dict[str, list[str]]) -> np.ndarray:
    """The in-memory index's gram coverage of each candidate (its tie-break after the score):
    for each token, the weighted share of its 汉字 (0.5), 2-grams (1.0), pinyin 3-grams (0.7)
    and initials 2-grams (0.6) found in the candidate's fields."""
    n = len(fields["title"])
    texts = ["\x01".join(v) for v in zip(fields["title"], fields["meta"], fields["story"],
                                         strict=True)]
    pys = ["\x01".join(v) for v in zip(fields["title_py"], fields["meta_py"], strict=True)]
    ins = ["\x01".join(v) for v in zip(fields["title_in"], fields["meta_in"], strict=True)]
    total = np.zeros(n, dtype=np.float32)
    for tok in toks:
        grams: dict[tuple[str, str], float] = {}
        for c in tok:
            if _is_cjk(c):
                grams[("t", c)] = 0.5
        for a, b in zip(tok, tok[1:], strict=False):
            grams[("t", a + b)] = 1.0
        full, _ = pinyin(tok)
        for k in range(len(full) - 2):
            grams.setdefault(("p", full[k:k + 3]), 0.7)
        if tok.isascii() and 2 <= len(tok) <= 12:
            for a, b in zip(tok, tok[1:], strict=False):
                grams.setdefault(("i", a + b), 0.6)
        weight_sum = sum(grams.values()) or 1.0
        haystacks = {"t": texts, "p": pys, "i": ins}
        for (where, gram), w in grams.items():
            hay = haystacks[where]
            total += np.fromiter((gram in h for h in hay), dtype=bool, count=n) * (w / weight_sum)
    return total


def candidate_ids(conn, toks: list[str]) -> list[int]:
    """At most `CANDIDATES` ids: the first tier's, then the next tier's while there is room."""
    sqls, params = candidates_sql(toks)
    # For the connection, not the transaction: a read-only request may run in autocommit,
    # where a transaction-local setting would be gone by the next statement. Only `<%`
    # reads it, and every search sets it first.
    conn.execute(text("SELECT set_config('pg_trgm.word_similarity_threshold', :v, false)"),
                 {"v": str(THRESHOLD)})
    found: dict[int, None] = {}
    for tier, sql in enumerate(sqls):
        if tier == 2 and len(found) >= FUZZY_BELOW:
            break  # enough exact matches: typos would rank below them anyway
        for (need_id,) in conn.execute(text(sql), params):
            found.setdefault(need_id)
        if len(found) >= CANDIDATES:
            break
    return list(found)[:CANDIDATES]


def search(conn, query: str, limit: int = 50) -> list[Hit]:
    """Best matches first, from the `need_search` rows (`conn`: a session or connection)."""
    toks = tokens(query)
    if not toks or limit <= 0:
        return []
    ids = candidate_ids(conn, toks)
    if not ids:
        return []
    found = conn.execute(text(f"SELECT need_id, {', '.join(FIELDS)} FROM need_search "
                              "WHERE need_id = ANY(:ids)"), {"ids": ids}).all()
    ids_ = np.fromiter((r[0] for r in found), dtype=np.int64, count=len(found))
    fields = {name: [r[k + 1] for r in found] for k, name in enumerate(FIELDS)}
    return rank(toks, ids_, coverage(toks, fields), fields, limit)


class PgSearch:
    """What `readside.search_cache.search_index` hands out on PostgreSQL: the same
    `search_ids` as an in-memory index, reading the database through the caller's session.
    `built_at` is the data version it was handed out at (results cached under it are valid
    until the next change)."""

    def __init__(self, version: int):
        self.built_at = version

    def search(self, query: str, limit: int = 50, session=None) -> list[Hit]:
        return search(session, query, limit)

    def search_ids(self, query: str, limit: int = 1000, session=None) -> list[int]:
        if session is None:
            raise TypeError("the PostgreSQL search reads through a session")
        return [h.id for h in search(session, query, limit)]


# ---------------------------------------------------------------------------- upkeep

def _is_postgres(session: OrmSession) -> bool:
    try:
        return session.get_bind().dialect.name == "postgresql"
    except Exception:  # noqa: BLE001 - unbound or multi-bound session: not ours to keep
        return False


def _changed(obj, names: Sequence[str]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names
               if name in state.attrs)


@event.listens_for(OrmSession, "after_flush")
def _note_searchable_changes(session: OrmSession, _context) -> None:
    """Note needs whose `need_search` row must be rewritten at commit."""
    if not (session.new or session.dirty) or not _is_postgres(session):
        return
    touched = None
    for obj in session.new:
        if getattr(obj, "__tablename__", None) == "need" and obj.state in PUBLIC:
            touched = session.info.setdefault(_TOUCHED, set())
            touched.add(obj.id)
    for obj in session.dirty:
        table = getattr(obj, "__tablename__", None)
        if table == "need":
            history = inspect(obj).attrs.state.history
            was = history.deleted[0] if history.deleted else obj.state
            public_changed = (was in PUBLIC) != (obj.state in PUBLIC)
            if public_changed or (obj.state in PUBLIC and _changed(obj, _SEARCHED)):
                session.info.setdefault(_TOUCHED, set()).add(obj.id)
        elif table in ("organisation", "programme") and _changed(obj, ("name",)):
            session.info.setdefault(_TOUCHED, set()).add((table, obj.id))


def _keep_rows_current(session: OrmSession) -> None:
    """Before the commit (and before the data version is bumped, so the rows count among the
    transaction's writes): rewrite the rows of the needs noted since the last commit."""
    if not session.in_transaction() or not _is_postgres(session):
        return
    session.flush()
    touched = session.info.pop(_TOUCHED, None)
    if not touched:
        return
    ids = {t for t in touched if isinstance(t, int)}
    for table, owner in (t for t in touched if isinstance(t, tuple)):
        column = "organisation_id" if table == "organisation" else "programme_id"
        ids.update(session.execute(text(f"SELECT id FROM need WHERE {column} = :owner"),
                                   {"owner": owner}).scalars())
    refresh(session, ids)


def _forget(session: OrmSession) -> None:
    session.info.pop(_TOUCHED, None)


# insert=True: run before core.data_version's before_commit, which bumps the version.
event.listen(OrmSession, "before_commit", _keep_rows_current, insert=True)
event.listen(OrmSession, "after_rollback", _forget)
