"""Chinese-first messages with English available, chosen per request by Accept-Language."""

from __future__ import annotations

from dataclasses import dataclass

from shared.context import current_language

DEFAULT_LANGUAGE = "zh"
LANGUAGES = ("zh", "en")


@dataclass(frozen=True)
class Text:
    """A phrase in both languages, e.g. an entity or field label."""

    zh: str
    en: str

    def __str__(self) -> str:  # what logs show
        return self.en

    def render(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    @staticmethod
    def render_any(value: object, lang: str) -> str:
        return value.render(lang) if isinstance(value, Text) else str(value)


def pick_language(accept_language: str | None) -> str:
    """The first supported language in an Accept-Language header; Chinese when none matches."""
    if not accept_language:
        return DEFAULT_LANGUAGE
    weighted: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        weighted.append((-quality, index, tag.strip().lower()))
    for _, _, tag in sorted(weighted):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def render(value: object, lang: str | None = None) -> str:
    lang = lang or current_language()
    if isinstance(value, Text):
        return value.render(lang)
    return str(value)
