"""The message catalogues and the language of a request.

Catalogues are ``locale/<locale>/LC_MESSAGES/*.po`` (``messages.po`` for the
public pages, one file per part of the staff pages, merged into one
catalogue), English source strings as message ids. They are compiled in
memory when first used, so the repository holds no generated ``.mo`` files.
Choice of language: ``?lang=`` (remembered in a cookie), else the cookie,
else ``Accept-Language``, else zh-CN.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from starlette.requests import Request

from tousu.services.gateway.problems import Lang, preferred_language
from tousu.shared.intake.i18n import UnsupportedLanguage, normalize_lang

LOCALE_DIR: Final = Path(__file__).parent / "locale"
DOMAIN: Final = "messages"
COOKIE: Final = "tousu_lang"
QUERY: Final = "lang"
LANGS: Final[tuple[Lang, ...]] = ("zh", "en")
# Babel locale of each language, and the tag pages and links use (BCP 47).
LOCALES: Final[dict[Lang, str]] = {"zh": "zh_CN", "en": "en"}
TAGS: Final[dict[Lang, str]] = {"zh": "zh-CN", "en": "en"}


def N_(message: str) -> str:
    """Marks a message for the catalogue where it is defined; translated where shown."""
    return message


def catalogue_path(lang: Lang) -> Path:
    return LOCALE_DIR / LOCALES[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalogue_files(lang: Lang) -> list[Path]:
    return sorted((LOCALE_DIR / LOCALES[lang] / "LC_MESSAGES").glob("*.po"))


def read_catalogue(lang: Lang) -> Catalog:
    """Every catalogue file of a language as one; a message translated two ways is an error."""
    merged: Catalog | None = None
    for path in catalogue_files(lang):
        with path.open("rb") as po:
            part = read_po(po, locale=LOCALES[lang], domain=DOMAIN)
        if merged is None:
            merged = part
            continue
        for message in part:
            if not message.id:
                continue  # the header
            known = merged.get(message.id)
            if known is not None and known.string != message.string:
                raise ValueError(
                    f"{path.name}: {message.id!r} is translated differently in another file"
                )
            merged[message.id] = message
    if merged is None:
        raise FileNotFoundError(f"no catalogue for {lang} in {LOCALE_DIR}")
    return merged


@cache
def translations(lang: Lang) -> Translations:
    catalog = read_catalogue(lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


def gettext(lang: Lang, message: str, **values: object) -> str:
    text = translations(lang).gettext(message)
    return text % values if values else text


def _parse(value: str | None) -> Lang | None:
    if not value:
        return None
    try:
        return normalize_lang(value)
    except UnsupportedLanguage:
        return None


@dataclass(frozen=True)
class LanguageChoice:
    lang: Lang
    # Set when the request asked for a language explicitly: the cookie to write.
    remember: bool = False

    @property
    def tag(self) -> str:
        return TAGS[self.lang]


def choose_language(request: Request) -> LanguageChoice:
    asked = _parse(request.query_params.get(QUERY))
    if asked is not None:
        return LanguageChoice(asked, remember=asked != _parse(request.cookies.get(COOKIE)))
    kept = _parse(request.cookies.get(COOKIE))
    if kept is not None:
        return LanguageChoice(kept)
    return LanguageChoice(preferred_language(request.headers.get("accept-language")))
