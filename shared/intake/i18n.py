"""The two languages of tousu's texts and a text that carries both."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

Lang = Literal["zh", "en"]

# Stripped and non-empty: a blank name in a data file is a mistake, never a choice.
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class UnsupportedLanguage(ValueError):
    def __init__(self, lang: str) -> None:
        super().__init__(f"unsupported language {lang!r}; use zh (zh-CN) or en")
        self.lang = lang


def normalize_lang(lang: str) -> Lang:
    """``zh``, ``zh-CN``, ``zh_Hans`` … → ``zh``; ``en``, ``en-US`` … → ``en``.

    Events record the complainant's language as a locale tag (``zh-CN``);
    texts only need the language.
    """
    primary = lang.strip().replace("_", "-").split("-", 1)[0].lower()
    if primary == "zh":
        return "zh"
    if primary == "en":
        return "en"
    raise UnsupportedLanguage(lang)


class Localized(BaseModel):
    """A text in Simplified Chinese (the text of record) and English."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    zh: NonEmpty
    en: NonEmpty

    def get(self, lang: str) -> str:
        return self.zh if normalize_lang(lang) == "zh" else self.en
