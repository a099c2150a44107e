"""Upcasters: turn stored data of an older ``schema_version`` into the current shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

# (event type, from schema_version) -> function producing version + 1
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register ``fn`` to lift ``event_type`` data from ``from_version`` to the next."""

    def register(fn: Upcaster) -> Upcaster:
        key = (event_type, from_version)
        if key in _UPCASTERS:
            raise ValueError(f"upcaster for {event_type} v{from_version} registered twice")
        _UPCASTERS[key] = fn
        return fn

    return register


def upcast(
    event_type: str, schema_version: int, target: int, data: dict[str, Any]
) -> dict[str, Any]:
    version = schema_version
    while version < target:
        try:
            fn = _UPCASTERS[(event_type, version)]
        except KeyError:
            raise ValueError(
                f"no upcaster for {event_type} from schema_version {version} to {target}"
            ) from None
        data = fn(data)
        version += 1
    if version > target:
        raise ValueError(f"{event_type} schema_version {schema_version} is newer than {target}")
    return data
