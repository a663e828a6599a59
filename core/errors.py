"""Errors a person can read. A UserError carries a message id — the Chinese source text,
Chinese being this repo's source language — and named parameters; it is rendered per
locale through the Babel catalogs (web/translations; the web error handlers use
Flask-Babel's gettext for the request's language). Amounts are passed as Money and shown
in yuan (¥150.00). Raising one changes nothing: the unit of work rolls back."""
from __future__ import annotations

import contextvars
from functools import lru_cache
from pathlib import Path

from babel.support import NullTranslations, Translations

# The request (or any caller) that wants to know whether a UserError was raised while it ran
# sets a list here; every UserError adds itself. web.db rolls the request back when the list
# is not empty, so a view that catches the error and answers normally still commits nothing.
raised_user_errors: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "raised_user_errors", default=None)

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "web" / "translations"
# The call names pybabel extracts message ids from (babel.cfg, tests/integration/test_i18n).
EXTRACT_KEYWORDS = ("UserError", "NotFound", "MoneyError", "RegionError", "LedgerError",
                    "EvidenceError", "GatewayError", "StatementError", "WebhookRejected",
                    "BadReference", "BadProofRequest")


class UserError(ValueError):
    """Bad input or a refused action: UserError("未知类别 %(category)s", category=c)."""

    def __init__(self, msgid: str, **params):
        self.msgid = msgid
        self.params = params
        super().__init__(self.message("zh_CN"))
        seen = raised_user_errors.get()
        if seen is not None:
            seen.append(self)

    def render(self, gettext) -> str:
        """The message through `gettext` (Flask-Babel's, or a catalog's), with parameters."""
        text = gettext(self.msgid)
        return text % {k: _shown(v) for k, v in self.params.items()} if self.params else text

    def message(self, locale: str = "zh_CN") -> str:
        return self.render(_translations(_language(locale)).gettext)


class NotFound(UserError):
    pass


class ServiceUnavailable(UserError):
    """The server cannot do this now through no fault of the request (a setting is
    missing): answered 503 with the reason, and the unit of work rolls back."""


def shown(value) -> str:
    """A message parameter as people read it: Money as ¥1,234.50 (str(Money) is the plain
    number of fen, like an int's), anything else as str()."""
    from core.money import Money, fmt  # core.money imports this module

    return fmt(value) if isinstance(value, Money) else str(value)


_shown = shown


def _language(locale) -> str:
    return "en" if str(locale).lower().startswith("en") else "zh_CN"


@lru_cache(maxsize=4)
def _translations(language: str):
    if language == "zh_CN":
        return NullTranslations()  # the message ids are the Chinese text
    folder = TRANSLATIONS_DIR / language / "LC_MESSAGES"
    compiled, source = folder / "messages.mo", folder / "messages.po"
    if compiled.exists() and compiled.stat().st_mtime >= source.stat().st_mtime:
        return Translations.load(str(TRANSLATIONS_DIR), [language])
    # Not compiled yet, or older than the catalog (`make translations`): read the .po.
    from babel.messages.pofile import read_po

    with source.open("rb") as handle:
        catalog = read_po(handle)
    strings = {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and m.string}
    translations = NullTranslations()
    translations.gettext = lambda msgid: strings.get(msgid, msgid)
    return translations
