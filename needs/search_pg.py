"""Search in PostgreSQL: the same forgiving search as needs.search, without an index in each
process.

Each public need has one `need_search` row: its normalized texts (title, meta, story — the
in-memory index's fields, made by the same functions), their pinyin and pinyin initials, and
three key columns made for pg_trgm, each with a GIN trigram index:

* `k_text`: the 2-grams of title, meta and story written as words ("贫困儿童" → "贫困 困儿 儿童
  童"). pg_trgm pads each word, so a word "ab" gives the trigrams "  a" (the character alone)
  and " ab" (the pair): the in-memory index's unigrams and bigrams;
* `k_py`: the 3-grams of the title's and meta's 全拼 as words (its pinyin trigrams);
* `k_in`: the 2-grams of their 首字母 as words (its initials bigrams).

A query token is turned into words the same way, and a need is a candidate when every token
is found in one of the key columns (`word <% column`, the trigram GIN indexes answer it); the
best `CANDIDATES` by trigram similarity are then scored with rapidfuzz exactly as the
in-memory index scores its candidates (`needs.search.rank`), so both backends rank alike.

The rows are written in the same transaction as the change that makes them (a need posted,
edited, verified, hidden, closed; an organisation or programme renamed): `after_flush` notes
the needs whose searchable text or public state changed, `before_commit` rewrites their rows
before the data version is bumped. So a committed change is searchable at once, on every
worker of every host, with nothing to rebuild. Only on PostgreSQL: on SQLite the in-memory
index is used and the table stays empty.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from sqlalchemy import Column, ForeignKey, Index, Integer, Text, bindparam, event, inspect, text
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
THRESHOLD = 0.3        # pg_trgm.word_similarity_threshold for a token's words (0..1)
BATCH = 2000
FIELDS = ("title", "meta", "story", "title_py", "title_in", "meta_py", "meta_in")
_COLUMNS = ("need_id", *FIELDS, "k_text", "k_py", "k_in")
# A need's row changes when one of these changes (or its state enters or leaves PUBLIC).
_SEARCHED = ("title", "story", "region", "category", "kind", "programme_id", "organisation_id")
_TOUCHED = "shanlian_search_touched"   # session.info: need ids / ("organisation"|"programme", id)

_ROWS_SQL = (
    "SELECT n.id, n.title, n.story, p.name, o.name, n.region, n.category, n.kind "
    "FROM need n JOIN organisation o ON o.id = n.organisation_id "
    "LEFT JOIN programme p ON p.id = n.programme_id "
    "WHERE n.state IN ('verified', 'funded', 'disbursed', 'delivered', 'closed')")
_INSERT = text(f"INSERT INTO need_search ({', '.join(_COLUMNS)}) "
               f"VALUES ({', '.join(':' + c for c in _COLUMNS)})")


def _trgm_index(column: str) -> Index:
    return Index(f"ix_need_search_{column}", column, postgresql_using="gin",
                 postgresql_ops={column: "gin_trgm_ops"})


class NeedSearch(SQLModel, table=True):
    """One public need's searchable texts (see the module's docstring). Written only here."""

    __tablename__ = "need_search"
    __table_args__ = (_trgm_index("k_text"), _trgm_index("k_py"), _trgm_index("k_in"))
    need_id: int = Field(sa_column=Column(
        Integer, ForeignKey("need.id", ondelete="CASCADE"), primary_key=True))
    title: str = Field(sa_column=Column(Text, nullable=False))
    meta: str = Field(sa_column=Column(Text, nullable=False))
    story: str = Field(sa_column=Column(Text, nullable=False))
    title_py: str = Field(sa_column=Column(Text, nullable=False))
    title_in: str = Field(sa_column=Column(Text, nullable=False))
    meta_py: str = Field(sa_column=Column(Text, nullable=False))
    meta_in: str = Field(sa_column=Column(Text, nullable=False))
    k_text: str = Field(sa_column=Column(Text, nullable=False))
    k_py: str = Field(sa_column=Column(Text, nullable=False))
    k_in: str = Field(sa_column=Column(Text, nullable=False))


# ---------------------------------------------------------------------------- rows

def words(text_: str, n: int) -> str:
    """The n-grams of `text_` as space-separated words, plus its last n-1 characters (so
    every character starts a word: pg_trgm's "  c" trigram is the character alone)."""
    if len(text_) <= n:
        return text_
    grams = [text_[i:i + n] for i in range(len(text_) - n + 1)]
    grams.append(text_[-(n - 1):])
    return " ".join(grams)


def _field_words(values: Iterable[str], n: int) -> str:
    return " ".join(w for w in (words(v, n) for v in values) if w)


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
            "k_text": _field_words((title, meta, story), 2),
            "k_py": _field_words((title_py, meta_py), 3),
            "k_in": _field_words((title_in, meta_in), 2)}


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


def rebuild(conn, progress=None) -> int:
    """Rewrite every row (the backfill; `flask search rebuild`). The caller commits."""
    conn.execute(text("DELETE FROM need_search"))
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

def _token_words(tok: str) -> tuple[str, str, str | None]:
    """(text words, pinyin words, initials words or None) of a normalized query token."""
    full, _ = pinyin(tok)
    initials = words(tok, 2) if tok.isascii() and 2 <= len(tok) <= 12 else None
    return words(tok, 2), words(full, 3) if full else "", initials


def candidates_sql(toks: list[str]) -> tuple[str, dict]:
    """The candidate query: needs where every token is found, best trigram match first."""
    conds, sims, params = [], [], {}
    for n, tok in enumerate(toks):
        t, p, i = _token_words(tok)
        params[f"t{n}"] = t
        ors = [f":t{n} <% k_text"]
        parts = [f"word_similarity(:t{n}, k_text)"]
        if p and not tok.isdigit():
            params[f"p{n}"] = p
            ors.append(f":p{n} <% k_py")
            parts.append(f"word_similarity(:p{n}, k_py)")
        if i and tok.isalpha():
            params[f"i{n}"] = i
            ors.append(f":i{n} <% k_in")
            parts.append(f"word_similarity(:i{n}, k_in)")
        conds.append("(" + " OR ".join(ors) + ")")
        sims.append(f"GREATEST({', '.join(parts)})" if len(parts) > 1 else parts[0])
    sql = (f"SELECT need_id, {', '.join(FIELDS)} FROM need_search "
           f"WHERE {' AND '.join(conds)} "
           f"ORDER BY {' + '.join(sims)} DESC, need_id DESC LIMIT {CANDIDATES}")
    return sql, params


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


def search(conn, query: str, limit: int = 50) -> list[Hit]:
    """Best matches first, from the `need_search` rows (`conn`: a session or connection)."""
    toks = tokens(query)
    if not toks or limit <= 0:
        return []
    sql, params = candidates_sql(toks)
    conn.execute(text("SELECT set_config('pg_trgm.word_similarity_threshold', :v, true)"),
                 {"v": str(THRESHOLD)})
    found = conn.execute(text(sql), params).all()
    if not found:
        return []
    ids = np.fromiter((r[0] for r in found), dtype=np.int64, count=len(found))
    fields = {name: [r[k + 1] for r in found] for k, name in enumerate(FIELDS)}
    return rank(toks, ids, coverage(toks, fields), fields, limit)


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
