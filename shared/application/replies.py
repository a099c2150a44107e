"""The reply shapes of the request-reply commands (docs/design.md, "Subjects and streams")."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from tousu.shared.domain.errors import DomainError


def ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def error(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, "details": details}}


def from_exception(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, ValidationError):
        fields = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        return error("validation_error", "the command is not valid", fields)
    if isinstance(exc, DomainError):
        return error(exc.code, exc.message, exc.details)
    raise exc
