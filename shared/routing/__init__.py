"""Routing rules (分类转办): versioned data saying which department handles a
complaint, and the pure matcher that applies them. The routing service runs
them on accepted and returned cases (``tousu.shared.routing.auto``)."""

from tousu.shared.routing.facts import RoutingFacts, facts_from
from tousu.shared.routing.loader import RulesFileError, load_rules, parse_rules
from tousu.shared.routing.matcher import RouteDecision, match
from tousu.shared.routing.model import FALLBACK_RULE_ID, Rule, RuleSet, When

__all__ = [
    "FALLBACK_RULE_ID",
    "RouteDecision",
    "RoutingFacts",
    "Rule",
    "RuleSet",
    "RulesFileError",
    "When",
    "facts_from",
    "load_rules",
    "match",
    "parse_rules",
]
