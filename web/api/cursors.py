"""The opaque cursors of the API's keyset pages.

A cursor names its list, a fingerprint of the query it belongs to (the filters and sort,
canonical), and the sort keys of the last row shown (readside.keyset). It is signed with the
app's secret key (itsdangerous), so a client can only hand back what we gave it: a cursor
that was altered, cut short or made up, or that belongs to another list or another query, is
a 400 problem naming the `cursor` parameter, never a query we did not write."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache

from flask import current_app, request, url_for
from itsdangerous import BadData, URLSafeSerializer

from core.errors import UserError
from readside import keyset
from readside.keyset import SortKey
from web.api.problems import bad_request

SALT = "shanlian.api.cursor"
FIELD = "cursor"


def _signer() -> URLSafeSerializer:
    return _signer_for(current_app.secret_key)


@lru_cache(maxsize=8)
def _signer_for(secret_key) -> URLSafeSerializer:
    # Made once per key: a list page signs its `next` cursor on every request.
    return URLSafeSerializer(secret_key, salt=SALT)


def fingerprint(args: Mapping[str, str]) -> str:
    """The same for the same query however its parameters are ordered."""
    canonical = json.dumps(sorted((k, str(v)) for k, v in args.items()), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def make(listing: str, args: Mapping[str, str], keys: Sequence[SortKey],
         values: Sequence) -> str:
    return _signer().dumps([listing, fingerprint(args), keyset.dump(keys, values)])


def read(token: str | None, listing: str, args: Mapping[str, str],
         keys: Sequence[SortKey]) -> tuple | None:
    """The key values a cursor carries (None without one); a 400 problem if it is not one
    of ours for this list and query."""
    if not token:
        return None
    try:
        name, query_print, raw = _signer().loads(token)
    except (BadData, ValueError, TypeError):
        raise bad_request([(FIELD, UserError("分页游标无效，请从第一页重新开始"))]) from None
    if name != listing or query_print != fingerprint(args):
        raise bad_request([(FIELD, UserError("分页游标属于另一个查询（筛选或排序已改变），"
                                             "请从第一页重新开始"))])
    try:
        return keyset.load(keys, raw)
    except ValueError:
        raise bad_request([(FIELD, UserError("分页游标无效，请从第一页重新开始"))]) from None


def next_link(endpoint: str, listing: str, args: Mapping[str, str], keys: Sequence[SortKey],
              last: Sequence | None) -> str | None:
    """The `next` link: the same query (and the caller's page size and language) with a
    cursor after the row whose keys are `last`; None when nothing follows it."""
    if last is None:
        return None
    extra = {name: request.args[name] for name in ("limit", "lang") if request.args.get(name)}
    return url_for(endpoint, **args, **extra, cursor=make(listing, args, keys, last))
