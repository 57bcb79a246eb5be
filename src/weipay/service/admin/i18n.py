"""Which language a console page speaks, and the translator its template calls.

简体中文 unless the operator chose English: the choice is a cookie set by ``/console/lang`` (the switch in the
header), so it follows the operator from page to page and survives logging out. Words come from
:mod:`.catalogue`; a key missing there is a bug a test catches, so the translator shows the key rather than
failing a page an operator needs.
"""

from __future__ import annotations

from typing import Literal

from .catalogue import CATALOGUE

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LANGUAGE_COOKIE", "Language", "Translator", "language_of"]

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DEFAULT_LANGUAGE: Language = "zh"
LANGUAGE_COOKIE = "weipay_console_lang"


def language_of(cookie: str | None) -> Language:
    """The language a cookie value names, else Chinese."""
    for language in LANGUAGES:
        if cookie == language:
            return language
    return DEFAULT_LANGUAGE


class Translator:
    """``t("key", name=value)``: the message in this language; ``t.value("order_status", "paid")`` a value's word."""

    def __init__(self, language: Language) -> None:
        self.language: Language = language
        self._words = CATALOGUE[language]

    def __call__(self, key: str, **params: object) -> str:
        text = self._words.get(key, key)
        return text.format(**params) if params else text

    def value(self, group: str, value: str | None) -> str:
        """The word for a state or kind (``order_status.paid`` → 已支付); the value itself when there is none."""
        if value is None:
            return ""
        return self._words.get(f"{group}.{value}", value)

    def has(self, key: str) -> bool:
        """Whether the catalogue has ``key``."""
        return key in self._words

    @property
    def other(self) -> Language:
        """The language the switch offers."""
        return "en" if self.language == "zh" else "zh"
