"""The JSON Schemas tousu publishes, shipped beside the kit: validate before sending.

``schemas/index.json`` maps each subject to the schema of what travels on it;
``schemas/<name>.schema.json`` is one schema (made by ``tousu schemas export``,
the same files the gateway serves at ``GET /schemas``). A schema the package
does not ship (an older kit) is simply not checked: tousu checks again anyway.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from tousu.kit.errors import Refused

_FOLDER = "schemas"


def _read(name: str) -> Any:
    try:
        text = (
            resources.files(__package__ or "tousu.kit")
            .joinpath(_FOLDER, name)
            .read_text(encoding="utf-8")
        )
    except (FileNotFoundError, OSError):
        return None
    return json.loads(text)


@cache
def schema(name: str) -> dict[str, Any] | None:
    """The shipped schema called ``name`` (``<name>.schema.json``), or None."""
    found = _read(f"{name}.schema.json")
    return found if isinstance(found, dict) else None


@cache
def _index() -> dict[str, str]:
    """Subject pattern (its tokens after the root) → schema name."""
    raw = _read("index.json")
    entries: dict[str, Any] = {}
    if isinstance(raw, dict):
        inner = raw.get("subjects", raw)
        entries = inner if isinstance(inner, dict) else {}
    elif isinstance(raw, list):
        entries = {
            str(e.get("subject")): e for e in raw if isinstance(e, dict) and e.get("subject")
        }
    out: dict[str, str] = {}
    for pattern, value in entries.items():
        name = value
        if isinstance(value, dict):
            name = value.get("schema") or value.get("payload") or value.get("name")
        if isinstance(name, str):
            out[_tail(pattern)] = name.removesuffix(".json").removesuffix(".schema")
    return out


def _tail(subject: str) -> str:
    # The root is the deployment's (tousu, or a test's own): compare the rest.
    return subject.partition(".")[2]


def _wild(token: str) -> bool:
    return token in ("*", ">") or token[:1] in ("{", "<")


def _matches(pattern: str, subject: str) -> bool:
    want, got = pattern.split("."), subject.split(".")
    if want and want[-1] == ">":
        return len(got) >= len(want) and all(
            _wild(w) or w == g for w, g in zip(want[:-1], got, strict=False)
        )
    return len(want) == len(got) and all(_wild(w) or w == g for w, g in zip(want, got, strict=True))


def schema_name_for(subject: str) -> str | None:
    """The name of the schema of what is sent on ``subject`` (any root), or None."""
    tail = _tail(subject)
    index = _index()
    if tail in index:
        return index[tail]
    for pattern, name in index.items():
        if _matches(pattern, tail):
            return name
    return None


def check(
    instance: Any,
    *,
    name: str | None = None,
    subject: str | None = None,
    derived: tuple[str, ...] = (),
) -> None:
    """Raise :class:`Refused` (``validation_error``) if ``instance`` breaks the
    schema called ``name`` (if shipped; else the one ``subject`` carries); nothing when that
    schema is not shipped. ``derived``: fields the schema requires that tousu
    fills in itself (the actor, from the credential), not required here."""
    candidates = [name, schema_name_for(subject) if subject else None]
    shipped = [(n, schema(n)) for n in candidates if n]
    wanted, found = next(((n, s) for n, s in shipped if s is not None), (None, None))
    if found is None:
        return
    if derived:
        found = _not_required(found, set(derived))
    problems = errors(found, instance)
    if problems:
        raise Refused(
            "validation_error", f"the message does not match the schema {wanted}", problems
        )


def _not_required(node: Any, names: set[str]) -> Any:
    if isinstance(node, dict):
        out = {k: _not_required(v, names) for k, v in node.items()}
        if isinstance(node.get("required"), list):
            out["required"] = [r for r in node["required"] if r not in names]
        return out
    if isinstance(node, list):
        return [_not_required(v, names) for v in node]
    return node


def errors(found: dict[str, Any], instance: Any) -> list[dict[str, str]]:
    """Each way ``instance`` breaks ``found``: ``{"field": "a.b", "message": ...}``."""
    import jsonschema  # type: ignore[import-untyped]  # loaded only when a schema is shipped

    validator = jsonschema.validators.validator_for(found)(found)
    found_errors = sorted(
        validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]
    )
    return [
        {"field": ".".join(str(p) for p in e.absolute_path), "message": e.message}
        for e in found_errors
    ]
