"""Every error the gateway can answer, declared in its OpenAPI document.

Routes declare the errors of their own logic (404, 409, …); the ones that come
from the layers around every route are added here: an unreadable body or
header (400), a missing or bad token (401), a body over the size limit (413),
the rate limits of the public endpoints (429). All of them are problem documents (RFC 9457), so each
error response gets the one ``Problem`` schema in place of FastAPI's default.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI

from tousu.services.gateway.problems import PROBLEM_JSON
from tousu.services.gateway.throttle.middleware import rule_for

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error (RFC 9457), in zh-CN or English by Accept-Language.",
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
    "additionalProperties": True,
}

BAD_REQUEST = "The body or a header cannot be read (not UTF-8, not JSON, a malformed If-Match)"
UNAUTHORIZED = "No token, or an expired or revoked one"
NOT_FOUND = "No such resource"
TOO_LARGE = "The request body is larger than the gateway accepts"
TOO_MANY = "Too many requests from this client; Retry-After says when to try again"


def _is_error(status: str) -> bool:
    return status[:1] in ("4", "5")


def _throttled(method: str, path: str) -> bool:
    """Whether the rate limits cover this operation (a template matches as any value)."""
    return rule_for(method.upper(), re.sub(r"\{[^}/]+\}", "x", path)) is not None


def _document(method: str, path: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    has_input = "requestBody" in operation or any(
        p.get("in") == "header" for p in operation.get("parameters", [])
    )
    added: dict[str, str] = {}
    if _throttled(method, path):
        added["429"] = TOO_MANY
    if has_input:
        added["400"] = BAD_REQUEST
    if "requestBody" in operation or method in ("post", "put", "patch"):
        added["413"] = TOO_LARGE
    if operation.get("security"):
        added["401"] = UNAUTHORIZED
    if any(p.get("in") == "path" for p in operation.get("parameters", [])):
        added["404"] = NOT_FOUND
    problem = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
    for status, description in added.items():
        responses.setdefault(status, {"description": description, "content": problem})
    for status, response in responses.items():
        if _is_error(status) and _problem_shaped(response.get("content")):
            response["content"] = problem


def _problem_shaped(content: dict[str, Any] | None) -> bool:
    """Whether a declared error is one of ours: Open311 answers its own way."""
    if not content:
        return False
    if PROBLEM_JSON in content:
        return True
    schema = content.get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref", "").endswith("/HTTPValidationError"))


def document_problems(app: FastAPI) -> None:
    """Have ``app.openapi()`` declare the problem responses of every operation."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                if isinstance(operation, dict) and "responses" in operation:
                    _document(method, path, operation)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
