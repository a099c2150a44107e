"""The web pages' message catalogues: every message the templates and the web
code use is translated in both languages, and no template hard-codes Chinese."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir

from tousu.services.gateway.web import i18n
from tousu.services.gateway.web.templating import TEMPLATE_DIR

WEB_DIR = Path(i18n.__file__).parent
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"trimmed": "true"}}
# Chinese characters and full-width punctuation.
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
# What is inside _( … ) or {% trans %} … {% endtrans %} may be anything.
TRANSLATED = re.compile(r"_\((?:[^()\"']|\"[^\"]*\"|'[^']*')*\)|\{%-? trans.*?endtrans -?%\}", re.S)


def used() -> Iterator[tuple[str, str | tuple[str, ...]]]:
    for filename, _, message, _, _ in extract_from_dir(
        WEB_DIR, METHODS, OPTIONS, strip_comment_tags=True
    ):
        yield filename, message


def catalogue(lang: i18n.Lang) -> Catalog:
    return i18n.read_catalogue(lang)


def test_messages_are_found() -> None:
    ids = {message for _, message in used()}
    assert "File a complaint" in ids  # a template's
    assert "Please fill in this field." in ids  # the form code's
    assert len(ids) > 100


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_message_is_translated(lang: i18n.Lang) -> None:
    po = catalogue(lang)
    missing = []
    for filename, message in used():
        key = message[0] if isinstance(message, tuple) else message
        entry = po.get(key)
        strings = entry.string if entry is not None else None
        texts = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or entry.fuzzy or not all(texts):
            missing.append(f"{filename}: {message!r}")
    assert not missing, "untranslated:\n" + "\n".join(missing)


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_no_stale_messages(lang: i18n.Lang) -> None:
    ids = {m[0] if isinstance(m, tuple) else m for _, m in used()}
    stale = [
        m.id for m in catalogue(lang) if m.id and (m.id[0] if m.pluralizable else m.id) not in ids
    ]
    assert not stale, f"in the {lang} catalogue but used nowhere: {stale}"


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_placeholders_survive_translation(lang: i18n.Lang) -> None:
    for message in catalogue(lang):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\(\w+\)s", ids[-1]))
        for text in strings:
            assert set(re.findall(r"%\(\w+\)s", text)) == wanted, (message.id, text)


def keep_lines(match: re.Match[str]) -> str:
    return "\n" * match.group(0).count("\n")


def test_templates_hard_code_no_chinese() -> None:
    offenders = []
    for template in sorted(TEMPLATE_DIR.glob("**/*.html")):
        # Cut out what is translated or a comment, keeping the line count for the report.
        text = TRANSLATED.sub(keep_lines, template.read_text(encoding="utf-8"))
        text = re.sub(r"\{#.*?#\}", keep_lines, text, flags=re.S)
        for number, line in enumerate(text.splitlines(), 1):
            if CJK.search(line):
                offenders.append(f"{template.name}:{number}: {line.strip()}")
    assert not offenders, "text outside the catalogue:\n" + "\n".join(offenders)


def test_the_catalogue_is_what_pages_get() -> None:
    assert i18n.gettext("zh", "File a complaint") == "我要投诉"
    assert i18n.gettext("en", "File a complaint") == "File a complaint"
    zh = i18n.translations("zh").ngettext("%(count)s working day", "%(count)s working days", 2)
    assert zh == "%(count)s 个工作日"
