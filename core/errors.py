"""Errors a person can read, in Chinese and English. Raising one changes nothing: the unit
of work rolls back."""
from __future__ import annotations


class UserError(ValueError):
    """Bad input or a refused action. Built as UserError("中文", "English") or from one
    string "中文 / English"."""

    def __init__(self, zh: str, en: str | None = None):
        if en is None and " / " in zh:
            zh, en = zh.split(" / ", 1)
        self.zh = zh
        self.en = en or zh
        super().__init__(f"{self.zh} / {self.en}")

    def message(self, locale: str = "zh_CN") -> str:
        return self.en if locale.startswith("en") else self.zh


class NotFound(UserError):
    pass
