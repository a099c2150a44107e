"""Which department a complaint goes to: the first eligible matching rule."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from tousu.services.routing.facts import RoutingFacts
from tousu.services.routing.model import FALLBACK_RULE_ID, Rule, RuleSet, When


@dataclass(frozen=True)
class RouteDecision:
    department: str
    rule_id: str  # FALLBACK_RULE_ID when no rule matched
    rule_version: int
    requirements: str | None = None


def match(
    rules: RuleSet, facts: RoutingFacts, exclude: Collection[str] = ()
) -> RouteDecision | None:
    """The first rule that matches ``facts`` and whose department is not in
    ``exclude`` (those that returned the case), else the fallback department;
    None when the fallback is excluded too: a person has to decide."""
    for rule in rules.rules:
        if rule.department not in exclude and matches(rule, facts):
            return RouteDecision(rule.department, rule.id, rules.version, rule.requirements)
    if rules.fallback_department not in exclude:
        return RouteDecision(
            rules.fallback_department, FALLBACK_RULE_ID, rules.version, rules.fallback_requirements
        )
    return None


def matches(rule: Rule, facts: RoutingFacts) -> bool:
    when: When = rule.when
    text = _fold(f"{facts.subject}\n{facts.description}")
    return (
        _one_of(when.category, facts.category)
        and _one_of(when.subcategory, facts.subcategory)
        and _one_of(when.service_item, facts.service_item)
        and _contains_any(when.keywords, text)
        and _contains_any(when.location, _fold(facts.location or ""))
    )


def _one_of(allowed: tuple[str, ...], value: str | None) -> bool:
    return not allowed or value in allowed


def _contains_any(keywords: Iterable[str], text: str) -> bool:
    keywords = tuple(keywords)
    return not keywords or any(_fold(k) in text for k in keywords)


def _fold(text: str) -> str:
    # Full-width letters and digits as typed on Chinese keyboards match half-width keywords.
    return unicodedata.normalize("NFKC", text).casefold()
