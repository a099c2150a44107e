"""The routing rules as data: ordered rules, each conditions → a department.

A rule's conditions are all required (AND); each condition lists values of
which any one will do (OR). The first rule that matches and whose department
is still eligible routes the case; when none does, the fallback department.
"""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)]
RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]

# The rule id ComplaintRouted records when no rule matched: reserved.
FALLBACK_RULE_ID = "fallback"


def _listify(value: object) -> object:
    # `category: supervision` reads better than a one-element list.
    return [value] if isinstance(value, str) else value


CodeList = Annotated[tuple[Code, ...], BeforeValidator(_listify)]
KeywordList = Annotated[tuple[Keyword, ...], BeforeValidator(_listify)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class When(_Model):
    """Conditions of one rule; at least one must be given."""

    category: CodeList = ()
    subcategory: CodeList = ()
    service_item: CodeList = ()
    # Matched by containment in subject + description (Chinese has no spaces
    # to split words on), after NFKC folding.
    keywords: KeywordList = ()
    # Matched by containment in the complaint's location field.
    location: KeywordList = ()

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not (
            self.category or self.subcategory or self.service_item or self.keywords or self.location
        ):
            # A rule matching everything would silently shadow the fallback.
            raise ValueError("a rule needs at least one condition")
        return self


class Rule(_Model):
    id: RuleId
    when: When
    department: Code
    requirements: Text | None = None  # 处理要求, recorded with the routing


class RuleSet(_Model):
    """A version of the rules; ``ComplaintRouted`` records the version used."""

    version: int = Field(ge=1)
    fallback_department: Code
    fallback_requirements: Text | None = None
    rules: tuple[Rule, ...] = ()

    @model_validator(mode="after")
    def _ids_unique(self) -> Self:
        counts = Counter(rule.id for rule in self.rules)
        problems = [f"rule id {rid!r} is used {n} times" for rid, n in counts.items() if n > 1]
        if FALLBACK_RULE_ID in counts:
            problems.append(f"rule id {FALLBACK_RULE_ID!r} is reserved for the fallback")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def departments(self) -> frozenset[str]:
        return frozenset({self.fallback_department, *(r.department for r in self.rules)})
