"""Refusals that carry a stable message id, translated through Flask-Babel.

The repo's source language is Chinese: a message id is the Chinese text itself (the msgid
in `web/translations/en/LC_MESSAGES/messages.po`, whose msgstr is the English). Ids are
marked with `N_` so `pybabel extract` finds them (N_ is one of its default keywords) while
the module stays importable without an app. A form shows `exc.text()` beside the field in
the request's language; outside a request `exc.message(locale)` still works, so the existing
UserError handler renders these errors too.
"""
from __future__ import annotations

import functools

from core.config import ROOT
from core.errors import UserError

TRANSLATIONS = ROOT / "web" / "translations"


def N_(message_id: str) -> str:
    """Mark a message id for extraction; it is translated when shown, not here."""
    return message_id


@functools.lru_cache(maxsize=1)
def _english() -> dict[str, str]:
    """The English catalog, read from the committed .po (the .mo is a build artefact)."""
    from babel.messages.pofile import read_po

    po = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        return {}
    with po.open("rb") as fh:
        return {m.id: m.string for m in read_po(fh, locale="en")
                if isinstance(m.id, str) and m.id and m.string}


def translate(message_id: str, locale: str, **params) -> str:
    text = _english().get(message_id, message_id) if locale.startswith("en") else message_id
    return text % params if params else text


class MessageError(UserError):
    """A UserError of the components that name their message ids with `N_` (kept for
    their callers: `message_id` and `text()`); rendering is UserError's."""

    @property
    def message_id(self) -> str:
        return self.msgid

    def text(self) -> str:
        """The message in the current request's language (Flask-Babel's locale)."""
        from flask_babel import gettext

        return self.render(gettext)
