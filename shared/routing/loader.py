"""Reading a rules file: YAML → a validated :class:`RuleSet`, every problem listed."""

from __future__ import annotations

from collections.abc import Collection
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

from shared.routing.model import RuleSet

PACKAGED = "rules.yaml"


class RulesFileError(ValueError):
    """A rules file that does not parse or validate."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(
            f"{source}: invalid routing rules\n" + "\n".join(f"  {p}" for p in problems)
        )


class _StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys; in a rule that is a lost edit."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_rules(
    text: str, source: str = PACKAGED, *, departments: Collection[str] | None = None
) -> RuleSet:
    """Validate ``text``; with ``departments`` given, every department named
    must be one of them (a typo would route cases to nobody)."""
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise RulesFileError(source, [str(exc)]) from exc
    try:
        rules = RuleSet.model_validate(data)
    except ValidationError as exc:
        raise RulesFileError(
            source,
            [
                f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
                for err in exc.errors()
            ],
        ) from None
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
        text = (resources.files("shared.routing") / "data" / PACKAGED).read_text("utf-8")
        return parse_rules(text, PACKAGED, departments=departments)
    return parse_rules(path.read_text("utf-8"), str(path), departments=departments)


def _named_departments(rules: RuleSet) -> list[tuple[str, str]]:
    named = [("fallback_department", rules.fallback_department)]
    named += [(f"rules.{i}.department ({r.id})", r.department) for i, r in enumerate(rules.rules)]
    return named
