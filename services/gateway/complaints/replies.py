"""A service's error reply as the problem+json the client gets.

Codes are those of ``tousu.shared.domain.errors`` and ``tousu.shared.application``:
validation_error and invalid_command → 422 naming the fields, illegal_transition
and stale_version → 409 with ``current_state`` and ``current_version``,
not_found → 404, forbidden → 403, anything else (internal_error, or a code this
gateway does not know yet) → 503.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tousu.services.gateway.problems import (
    Conflict,
    DomainProblem,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Text,
    Unprocessable,
)
from tousu.shared.domain.handling_order import Step
from tousu.shared.domain.status import Status

NO_SUCH_COMPLAINT = Text("投诉不存在", "No such complaint")
RETRY_LATER = Text(
    "处理服务暂时不可用，请稍后用同一 Idempotency-Key 重试",
    "The service that handles this is unavailable; retry later with the same Idempotency-Key",
)


def body_field(field: str) -> str:
    # The services name a command's own fields; the client knows them as body fields.
    return field if field.startswith("body.") else f"body.{field}"


def problem_for(error: Mapping[str, Any], action: str) -> DomainProblem:
    code = str(error.get("code", ""))
    message = str(error.get("message", ""))
    details = error.get("details")
    match code:
        case "validation_error":
            errors = [
                {
                    "field": body_field(str(d.get("field", ""))),
                    "message": str(d.get("message", "")),
                    "type": str(d.get("type", "")),
                }
                for d in (details if isinstance(details, list) else [])
                if isinstance(d, Mapping)
            ]
            names = ", ".join(e["field"] for e in errors)
            text = Text(f"输入有误：{names}", f"Invalid input: {names}")
            return Unprocessable(text, errors=errors)
        case "invalid_command":
            named = details.get("field") if isinstance(details, Mapping) else None
            field = body_field(str(named or ""))
            return Unprocessable(
                Text(f"{field} 不符合规则：{message}", f"{field}: {message}"),
                code="invalid_command",
                errors=[{"field": field, "message": message, "type": "invalid_command"}],
            )
        case "illegal_transition" | "stale_version":
            known = details if isinstance(details, Mapping) else {}
            state, version = known.get("current_state"), known.get("version")
            text = (
                _moved_text(state, version, message)
                if code == "stale_version"
                else _state_text(action, state, message)
            )
            stale = code == "stale_version"
            # A step out of the policy's order names the step owed first.
            step = _missing_step(known.get("missing_step"))
            if step is not None:
                text = Text(f"{text.zh}：须先完成{step.label('zh')}", text.en)
            extra: dict[str, Any] = {"current_state": state, "current_version": version}
            if step is not None:
                extra["missing_step"] = step.value
            return Conflict(text, code="stale_version" if stale else None, **extra)
        case "not_found":
            return NotFound(NO_SUCH_COMPLAINT, code="complaint_not_found")
        case "forbidden":
            return Forbidden(Text(f"无权执行此操作：{message}", message), code="forbidden")
    return ServiceUnavailable(RETRY_LATER, code="command_failed", service_code=code)


def _missing_step(value: object) -> Step | None:
    try:
        return Step(str(value)) if value is not None else None
    except ValueError:
        return None


def _state_text(action: str, state: object, message: str) -> Text:
    try:
        label = Status(str(state)).label("zh")
    except ValueError:
        label = str(state)
    return Text(f"投诉当前状态为「{label}」，不能执行 {action}", message)


def _moved_text(state: object, version: object, message: str) -> Text:
    try:
        label = Status(str(state)).label("zh")
    except ValueError:
        label = str(state)
    return Text(
        f"投诉已被他人更新（当前状态「{label}」，版本 {version}），请刷新后重新操作", message
    )
