"""Errors a person can read, in Chinese and English. Raising one changes nothing: the unit
of work rolls back."""
from __future__ import annotations

import contextvars

# The request (or any caller) that wants to know whether a UserError was raised while it ran
# sets a list here; every UserError adds itself. web.db rolls the request back when the list
# is not empty, so a view that catches the error and answers normally still commits nothing.
raised_user_errors: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "raised_user_errors", default=None)


class UserError(ValueError):
    """Bad input or a refused action. Built as UserError("中文", "English") or from one
    string "中文 / English"."""

    def __init__(self, zh: str, en: str | None = None):
        if en is None and " / " in zh:
            zh, en = zh.split(" / ", 1)
        self.zh = zh
        self.en = en or zh
        super().__init__(f"{self.zh} / {self.en}")
        seen = raised_user_errors.get()
        if seen is not None:
            seen.append(self)

    def message(self, locale: str = "zh_CN") -> str:
        return self.en if locale.startswith("en") else self.zh


class NotFound(UserError):
    pass
