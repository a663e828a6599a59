"""The keyset sorts of the public needs list (the JSON API reads its pages with them in
readside.api_reads): the filters, sorts and forgiving search of /needs, each page starting
after the last row of the one before.

Every sort of /needs is a keyset here, in the same order as the page (readside.browse):
the cursor holds the sort keys of the last row and its id. Relevance is the exception: the
search index ranks by a score the database does not hold, so a relevance page starts after
the last id in the current ranking (found by id, so rows ranked in front of it since do not
shift the walk), and at its position when that row has left the results."""
from __future__ import annotations

from needs.models import Need
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
