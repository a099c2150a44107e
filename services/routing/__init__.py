"""The routing service: dispatch to the responsible department, claim and return.

Routing rules (分类转办): versioned data (``data/rules.yaml``) saying which
department handles a complaint, and the pure matcher that applies them. The
service runs them on accepted and returned cases (:mod:`tousu.services.routing.auto`).
"""

from tousu.services.routing.facts import RoutingFacts, facts_from
from tousu.services.routing.loader import RulesFileError, load_rules, parse_rules
from tousu.services.routing.matcher import RouteDecision, match
from tousu.services.routing.model import FALLBACK_RULE_ID, Rule, RuleSet, When

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
