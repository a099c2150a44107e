"""YAML data files (registers, rules) into validated models, every problem listed."""

from __future__ import annotations

from importlib import resources
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode

M = TypeVar("M", bound=BaseModel)


class DataFileError(ValueError):
    """A data file that does not parse or validate; lists every problem found."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: invalid data\n" + "\n".join(f"  {p}" for p in problems))


class _StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; in a register that is
    a lost edit, so it is refused."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise DataFileError(source, [str(exc)]) from exc


def validate(model: type[M], data: Any, source: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise DataFileError(source, problems) from exc


def load_packaged(model: type[M], name: str, package: str = "tousu.shared.intake") -> M:
    """Read ``<package>/data/<name>`` from the installed package and validate it."""
    data_dir = resources.files(package).joinpath("data")
    text = data_dir.joinpath(name).read_text(encoding="utf-8")
    return validate(model, parse_yaml(text, name), name)
