"""The public needs list in keyset pages (the JSON API): the filters, sorts and forgiving
search of /needs, each page starting after the last row of the one before.

Every sort of /needs is a keyset here, in the same order as the page (readside.browse):
the cursor holds the sort keys of the last row and its id. Relevance is the exception: the
search index ranks by a score the database does not hold, so a relevance page starts after
the last id in the current ranking (found by id, so rows ranked in front of it since do not
shift the walk), and at its position when that row has left the results."""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from needs.models import Need
from readside import keyset
from readside.browse import NeedFilter, need_query
from readside.keyset import SortKey

NEED_KEYS: dict[str, tuple[SortKey, ...]] = {
    "urgency": (SortKey(Need.urgency, True), SortKey(Need.posted_at, True, "datetime"),
                SortKey(Need.id, True)),
    "newest": (SortKey(Need.posted_at, True, "datetime"), SortKey(Need.id, True)),
    "amount": (SortKey(Need.amount, True), SortKey(Need.id, True)),
    # closest to its goal first; needs already met go last (as readside.browse._order)
    "progress": (SortKey(Need.funded >= Need.amount, False, "bool"),
                 SortKey(Need.funded * 10_000 // Need.amount, True),
                 SortKey(Need.amount - Need.funded), SortKey(Need.id, True)),
    "deadline": (SortKey(Need.deadline, False, "date", nullable=True), SortKey(Need.id)),
}
# A relevance cursor: the position reached in the ranking and the last id shown there.
RANK_KEYS = (SortKey(Need.id), SortKey(Need.id))


def keys_for(sort: str) -> tuple[SortKey, ...]:
    return RANK_KEYS if sort == "relevance" else NEED_KEYS[sort]


@dataclass
class NeedSlice:
    needs: list[Need]
    total: int
    truncated: bool
    last: tuple | None  # the keys of the last row when more rows follow, else None


def needs_after(session: Session, f: NeedFilter, after: tuple | None,
                limit: int) -> NeedSlice:
    """Up to `limit` public needs matching `f`, in its effective sort, after the row whose
    keys are `after` (from the start without)."""
    query = need_query(session, f)
    if query.empty_search:
        return NeedSlice([], 0, False, None)
    sort = f.effective_sort
    if query.by_relevance:
        return _ranked_slice(session, query.relevance_order(), after, limit, query.truncated)
    keys = NEED_KEYS[sort]
    statement = (select(Need, *keyset.key_columns(keys)).where(*query.conditions)
                 .order_by(*keyset.order_by(keys)).limit(limit + 1))
    if after is not None:
        statement = statement.where(keyset.after(keys, after))
    rows = session.execute(statement).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = tuple(rows[-1][1:]) if more else None
    return NeedSlice([row[0] for row in rows], query.total(), query.truncated, last)


def _ranked_slice(session: Session, ordered: list[int], after: tuple | None, limit: int,
                  truncated: bool) -> NeedSlice:
    chosen, last = keyset.ranked_page(ordered, after, limit)
    by_id = {n.id: n for n in session.exec(select(Need).where(Need.id.in_(chosen))).all()}
    return NeedSlice([by_id[i] for i in chosen if i in by_id], len(ordered), truncated, last)
