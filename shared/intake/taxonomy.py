"""The complaint scope taxonomy (受理范围): categories, subcategories, what is
out of scope and where to go instead, and keyword suggestions for intake.

The data lives in ``data/taxonomy.yaml``; see its header for the rules of
editing it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from tousu.shared.datafiles import load_packaged, parse_yaml, validate
from tousu.shared.intake.i18n import Localized, NonEmpty

# Codes are stored in events and used in URLs and subjects.
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

# Score = weight / (weight + _SCORE_HALF): one 4-character keyword gives 0.5,
# so a score reads as confidence without knowing how many keywords exist.
_SCORE_HALF = 4.0
DATA_FILE = "taxonomy.yaml"


class UnknownCode(KeyError):
    def __init__(self, what: str, code: str) -> None:
        super().__init__(code)
        self.what = what
        self.code = code

    def __str__(self) -> str:
        return f"unknown {self.what} {self.code!r}"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _unique(codes: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for code in codes:
        if code in seen:
            raise ValueError(f"{what} {code!r} is listed twice")
        seen.add(code)


class Subcategory(_Model):
    code: Code
    name: Localized
    description: Localized | None = None
    keywords: tuple[Keyword, ...] = ()


class Category(_Model):
    code: Code
    name: Localized
    description: Localized | None = None
    policy_clause: NonEmpty | None = None  # where the policy defines it, e.g. 一(一)1
    # A category that always goes to one department (supervision reports do).
    department: Code | None = None
    keywords: tuple[Keyword, ...] = ()
    subcategories: tuple[Subcategory, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes_unique(self) -> Self:
        _unique((s.code for s in self.subcategories), f"subcategory of {self.code}")
        return self

    def subcategory(self, code: str) -> Subcategory:
        for sub in self.subcategories:
            if sub.code == code:
                return sub
        raise UnknownCode(f"subcategory of {self.code}", code)


class OutOfScope(_Model):
    code: Code
    name: Localized
    reason: Localized  # why it is not accepted (不予受理理由)
    referral: Localized  # where to go instead (解决建议)
    keywords: tuple[Keyword, ...] = ()


class _TaxonomyData(_Model):
    version: int = Field(ge=1)
    categories: tuple[Category, ...] = Field(min_length=1)
    out_of_scope: tuple[OutOfScope, ...] = ()

    @model_validator(mode="after")
    def _codes_unique(self) -> Self:
        # One namespace: a rejection's reason_code and a category share a field in the UI.
        _unique(
            [c.code for c in self.categories] + [o.code for o in self.out_of_scope],
            "category or out-of-scope code",
        )
        return self


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A likely classification of a complaint text.

    Exactly one of ``category`` (in scope) and ``out_of_scope`` is set;
    ``subcategory`` is None when only category-wide keywords matched.
    """

    category: str | None
    subcategory: str | None
    out_of_scope: str | None
    score: float  # in (0, 1)
    keywords: tuple[str, ...]

    @property
    def in_scope(self) -> bool:
        return self.category is not None


def _fold(text: str) -> str:
    # Full-width letters and digits as typed on Chinese keyboards match half-width keywords.
    return unicodedata.normalize("NFKC", text).casefold()


_SPACE = re.compile(r"\s+")


def _matches(text: str, keywords: Iterable[str]) -> tuple[str, ...]:
    found = sorted({k for k in keywords if _fold(k) in text}, key=len, reverse=True)
    # A keyword inside a longer matched one (态度 in 态度恶劣) is the same evidence.
    kept: list[str] = []
    for kw in found:
        if not any(_fold(kw) in _fold(longer) for longer in kept):
            kept.append(kw)
    return tuple(kept)


def _score(keywords: tuple[str, ...]) -> float:
    weight = float(sum(len(k) for k in keywords))
    return weight / (weight + _SCORE_HALF)


class Taxonomy:
    """The validated taxonomy; ``Taxonomy.load()`` gives the packaged one."""

    def __init__(self, data: _TaxonomyData) -> None:
        self._data = data
        self._categories = {c.code: c for c in data.categories}
        self._out_of_scope = {o.code: o for o in data.out_of_scope}

    @classmethod
    def load(cls) -> Taxonomy:
        return _packaged()

    @classmethod
    def from_yaml(cls, text: str, source: str = DATA_FILE) -> Taxonomy:
        return cls(validate(_TaxonomyData, parse_yaml(text, source), source))

    @property
    def version(self) -> int:
        return self._data.version

    @property
    def categories(self) -> tuple[Category, ...]:
        return self._data.categories

    @property
    def out_of_scope_kinds(self) -> tuple[OutOfScope, ...]:
        return self._data.out_of_scope

    def category(self, code: str) -> Category:
        try:
            return self._categories[code]
        except KeyError:
            raise UnknownCode("category", code) from None

    def subcategory(self, category: str, subcategory: str) -> Subcategory:
        return self.category(category).subcategory(subcategory)

    def is_in_scope(self, code: str) -> bool:
        """True for a category (supervision included), False for an out-of-scope
        kind; an unknown code raises, so a typo never passes for a rejection."""
        if code in self._categories:
            return True
        if code in self._out_of_scope:
            return False
        raise UnknownCode("category or out-of-scope code", code)

    def out_of_scope(self, code: str) -> OutOfScope:
        try:
            return self._out_of_scope[code]
        except KeyError:
            raise UnknownCode("out-of-scope kind", code) from None

    def label(self, category: str, subcategory: str | None, lang: str) -> str:
        """``服务质量 / 服务态度`` — the classification as the complainant reads it."""
        cat = self.category(category)
        if subcategory is None:
            return cat.name.get(lang)
        return f"{cat.name.get(lang)} / {cat.subcategory(subcategory).name.get(lang)}"

    def suggest(self, text: str, limit: int = 5) -> list[Suggestion]:
        """Likely classifications of a complaint text, best first.

        Keyword containment only: a hint for the operator, who decides. A
        category-wide keyword adds to each of its subcategories' evidence.
        """
        folded = _SPACE.sub("", _fold(text))
        found: list[tuple[int, Suggestion]] = []  # (taxonomy order, suggestion) for stable ties
        order = 0
        for cat in self._data.categories:
            general = _matches(folded, cat.keywords)
            any_sub = False
            for sub in cat.subcategories:
                order += 1
                specific = _matches(folded, sub.keywords)
                if specific:
                    any_sub = True
                    kws = _matches(folded, specific + general)
                    found.append((order, Suggestion(cat.code, sub.code, None, _score(kws), kws)))
            if general and not any_sub:
                order += 1
                found.append((order, Suggestion(cat.code, None, None, _score(general), general)))
        for oos in self._data.out_of_scope:
            order += 1
            kws = _matches(folded, oos.keywords)
            if kws:
                found.append((order, Suggestion(None, None, oos.code, _score(kws), kws)))
        found.sort(key=lambda pair: (-pair[1].score, pair[0]))
        return [s for _, s in found[:limit]]


@cache
def _packaged() -> Taxonomy:
    return Taxonomy(load_packaged(_TaxonomyData, DATA_FILE))
