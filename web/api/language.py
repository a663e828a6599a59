"""The language an API client asked for in Accept-Language, by quality then order, matched
on the primary subtag (werkzeug's best_match prefers an exact zh-CN at q=0.5 over en-GB)."""
from __future__ import annotations

from werkzeug.datastructures import LanguageAccept

PRIMARY = {"zh": "zh_CN", "en": "en"}


def accepted_language(accept: LanguageAccept) -> str | None:
    for value, _quality in accept:  # werkzeug keeps them sorted by quality
        locale = PRIMARY.get(value.lower().replace("_", "-").split("-")[0])
        if locale:
            return locale
    return None
