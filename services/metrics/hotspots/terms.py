"""A complaint's terms (热点诉求的关键词): its words cut by jieba, with the
register's service items and the taxonomy's names and keywords kept whole,
and the stopwords of ``data/stopwords.yaml`` left out; and the normal form of
a location, so that one place written two ways counts as one.

Pure: the segmenter is built from the packaged data once per process (about
0.2 s) and then cuts a complaint in microseconds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tousu.shared.datafiles import load_packaged
from tousu.shared.intake.commitments import CommitmentRegister
from tousu.shared.intake.taxonomy import Taxonomy

STOPWORDS_FILE = "stopwords.yaml"
# A complaint names a few topics; past this many terms the rest are noise,
# and the row (and the GIN index over it) stays small.
MAX_TERMS = 48
# The longest key an alert may carry (HotspotAlertRaised.key).
MAX_KEY = 200
# A user-dictionary word's frequency: high enough that jieba keeps it whole
# over any split of it its own dictionary prefers.
_USER_FREQ = 200_000
_SPACES = re.compile(r"\s+")
_ASCII_WORD = re.compile(r"[a-z]+")
# Names such as 以权谋私/收受贿赂 are two words.
_NAME_PARTS = re.compile(r"[/、，,（）()]+")

Word = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Stopwords(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = Field(ge=1)
    tags: frozenset[Word]
    extra_words: frozenset[Word] = frozenset()
    single_characters: frozenset[Word] = frozenset()
    words: frozenset[Word] = frozenset()


def normal(text: str) -> str:
    """NFKC (full-width letters and digits become plain), trimmed, runs of
    white space made one space, ASCII letters lower-cased."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


def location_key(location: str | None) -> str | None:
    """The key a location is counted under; None for none (or only spaces)."""
    if location is None:
        return None
    key = normal(location)[:MAX_KEY]
    return key or None


def without_place(terms: list[str], location: str | None) -> list[str]:
    """``terms`` less the words of the place (幸福路32号 gives 幸福): the place is
    counted as a place, and its pieces would rise with it as words that say
    nothing of what went wrong."""
    if not location:
        return terms
    return [t for t in terms if t not in location]


def dictionary_words(register: CommitmentRegister, taxonomy: Taxonomy) -> list[str]:
    """The words kept whole: every service item's name, every category's and
    subcategory's name and keywords (Chinese), split at slashes and commas."""
    found: list[str] = [item.name.zh for item in register.items]
    for category in taxonomy.categories:
        found += [category.name.zh, *category.keywords]
        for sub in category.subcategories:
            found += [sub.name.zh, *sub.keywords]
    words = (normal(part) for text in found for part in _NAME_PARTS.split(text))
    # One character is not a word to force; the stopword rules judge those.
    return sorted({w for w in words if len(w) >= 2})


class Segmenter:
    """Cuts texts into terms; one per process (see :func:`segmenter`)."""

    def __init__(self, words: Iterable[str], stopwords: Stopwords) -> None:
        # Imported here: importing rjieba loads its default dictionary (0.2 s),
        # which every process that imports the projections (the gateway, each
        # CLI command) would otherwise pay at start without segmenting anything.
        import rjieba

        self._jieba = rjieba.Jieba()
        self.user_words = frozenset(words) | stopwords.extra_words
        for word in self.user_words:
            self._jieba.add_word(word, _USER_FREQ, "nz")
        self._stop = stopwords

    def _keep(self, word: str, tag: str) -> bool:
        if word in self.user_words:
            return True
        if word in self._stop.words or tag in self._stop.tags:
            return False
        if word.isascii():
            # Numbers, codes and short English words say nothing on their own.
            return _ASCII_WORD.fullmatch(word) is not None and len(word) >= 3
        if len(word) == 1:
            return word in self._stop.single_characters
        return not word.isnumeric()

    def terms(self, *texts: str | None) -> list[str]:
        """The distinct terms of ``texts``, in the order they first appear,
        at most :data:`MAX_TERMS`."""
        seen: dict[str, None] = {}
        for text in texts:
            if not text:
                continue
            # No HMM: it invents words across a place and its topic
            # (幸福路32号路灯 → 号路); the dictionaries decide.
            for word, tag in self._jieba.tag(normal(text), False):
                word = word.strip()
                if word and word not in seen and self._keep(word, tag):
                    seen[word] = None
                    if len(seen) >= MAX_TERMS:
                        return list(seen)
        return list(seen)


def load_stopwords() -> Stopwords:
    return load_packaged(Stopwords, STOPWORDS_FILE, package="tousu.services.metrics.hotspots")


@cache
def segmenter() -> Segmenter:
    """The process's segmenter, from the packaged register, taxonomy and stopwords."""
    words = dictionary_words(CommitmentRegister.load(), Taxonomy.load())
    return Segmenter(words, load_stopwords())
