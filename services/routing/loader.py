"""Reading a rules file: YAML → a validated :class:`RuleSet`, every problem listed."""

from __future__ import annotations

from collections.abc import Collection
from importlib import resources
from pathlib import Path

from tousu.services.routing.model import RuleSet
from tousu.shared.datafiles import DataFileError, parse_yaml, validate

PACKAGED = "rules.yaml"


class RulesFileError(DataFileError):
    """A rules file that does not parse or validate."""


def parse_rules(
    text: str, source: str = PACKAGED, *, departments: Collection[str] | None = None
) -> RuleSet:
    """Validate ``text``; with ``departments`` given, every department named
    must be one of them (a typo would route cases to nobody)."""
    try:
        rules = validate(RuleSet, parse_yaml(text, source), source)
    except DataFileError as exc:
        raise RulesFileError(source, exc.problems) from None
    if departments is not None:
        unknown = [
            f"{where}: unknown department {code!r}"
            for where, code in _named_departments(rules)
            if code not in departments
        ]
        if unknown:
            raise RulesFileError(source, unknown)
    return rules


def load_rules(path: Path | None = None, *, departments: Collection[str] | None = None) -> RuleSet:
    """The rules in ``path``, or the packaged ones."""
    if path is None:
        text = (resources.files("tousu.services.routing") / "data" / PACKAGED).read_text("utf-8")
        return parse_rules(text, PACKAGED, departments=departments)
    return parse_rules(path.read_text("utf-8"), str(path), departments=departments)


def _named_departments(rules: RuleSet) -> list[tuple[str, str]]:
    named = [("fallback_department", rules.fallback_department)]
    named += [(f"rules.{i}.department ({r.id})", r.department) for i, r in enumerate(rules.rules)]
    return named
