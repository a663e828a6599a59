"""The words for need kinds, states and categories, defined once.

The Chinese word is the source text (and, for categories, the stored value); every other
language comes from the Babel catalog under a context, so 项目 the need kind and 项目 the menu
entry can be translated differently. `_w` only marks a word for `pybabel extract`
(`-k _w:1c,2`); `label()` translates it for the current request's language.
"""
from __future__ import annotations

from flask_babel import pgettext

from needs.models import CATEGORIES, NEED_KINDS, NEED_STATES, PUBLIC_STATES


def _w(context: str, word: str) -> str:
    return word


KIND_WORDS = {
    "wish": _w("kind", "微心愿"),
    "project": _w("kind", "项目"),
    "sponsorship": _w("kind", "助学资助"),
    "microgrant": _w("kind", "小急难"),
}
STATE_WORDS = {
    "draft": _w("state", "草稿"),
    "submitted": _w("state", "待审核"),
    "verified": _w("state", "筹款中"),
    "funded": _w("state", "已筹满"),
    "disbursed": _w("state", "已拨付"),
    "delivered": _w("state", "已送达"),
    "closed": _w("state", "已结项"),
    "rejected": _w("state", "未通过"),
    "expired": _w("state", "已过期"),
    "cancelled": _w("state", "已取消"),
}
CATEGORY_WORDS = {
    "助困": _w("category", "助困"),
    "助老": _w("category", "助老"),
    "助学": _w("category", "助学"),
    "助残": _w("category", "助残"),
    "助医": _w("category", "助医"),
    "社区": _w("category", "社区"),
}
ROLE_WORDS = {
    "donor": _w("role", "个人捐赠者"),
    "enterprise_staff": _w("role", "企业经办人"),
    "enterprise_reviewer": _w("role", "企业审核人"),
    "org_staff": _w("role", "机构工作人员"),
    "org_admin": _w("role", "机构管理员"),
    "verifier": _w("role", "审核员"),
    "fund_manager": _w("role", "社区基金管理人"),
    "admin": _w("role", "平台管理员"),
}
VOCABULARY = {"kind": KIND_WORDS, "state": STATE_WORDS, "category": CATEGORY_WORDS,
              "role": ROLE_WORDS}
assert tuple(KIND_WORDS) == NEED_KINDS and tuple(STATE_WORDS) == NEED_STATES
assert tuple(CATEGORY_WORDS) == CATEGORIES

# What the public filter form offers, in this order.
CHOICES = {"kind": NEED_KINDS, "category": CATEGORIES, "state": PUBLIC_STATES}


def label(context: str, value: str) -> str:
    """The word for a kind / state / category in the current language (unknown: as is)."""
    word = VOCABULARY[context].get(value)
    return pgettext(context, word) if word else value
