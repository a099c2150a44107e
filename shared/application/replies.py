"""The request-reply handlers' one wrapper, and their reply shapes (docs/design.md,
"Subjects and streams").

Every request on ``<root>.cmd.<service>.<name>`` — a command, a submission, a
merge — is a :class:`Request` declared in the service's ``ServiceSpec`` and
answered by :func:`answer`: a body that does not validate, or a refusal, is an
``{"ok": false, ...}`` reply naming why; anything else that fails is an
``internal_error`` (logged here, never shown to the caller). Who may send it,
and as whom, is the request's ``admit`` (``tousu.shared.application.credentials``):
by default only a trusted sender.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from tousu.shared.application.credentials import Admission, Principal, trusted_only
from tousu.shared.domain.errors import DomainError
from tousu.shared.logs import bound_contextvars, get_logger

log = get_logger("tousu.requests")

T = TypeVar("T")
Refusal = type[ValidationError] | type[DomainError]


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


def _nothing_to_log(_request: object) -> Mapping[str, str]:
    return {}


@dataclass(frozen=True)
class Request(Generic[T]):
    """A request-reply handler: how its body is read, what is done with it, and
    what its ``internal_error`` reply says when that fails."""

    # The body as the handler wants it; a ValidationError is the reply.
    parse: Callable[[dict[str, Any]], T]
    # The reply's ``result``.
    handle: Callable[[T], Awaitable[Any]]
    # The message of the ``internal_error`` reply ("the command could not be executed").
    failed: str
    # Its name in the AsyncAPI document.
    title: str
    # Bound to the log lines of its handling (complaint_id, command, ...).
    context: Callable[[T], Mapping[str, str]] = _nothing_to_log
    # What ``handle`` raises that is the caller's to hear, not an internal error.
    refused: tuple[Refusal, ...] = (DomainError,)
    # Who may send it, and the body as it is parsed for them (their actor
    # derived from their credential); by default, trusted senders only.
    admit: Admission = trusted_only
    # Requests one process answers at once on its subject; None: the default
    # (nats_commands.CONCURRENT_REQUESTS). More for a request whose handling
    # mostly waits for a shared transaction (intake's submit: the more wait
    # together, the more each commit carries).
    concurrency: int | None = None


async def answer(request: Request[T], body: dict[str, Any], principal: Principal) -> dict[str, Any]:
    """The reply to ``body`` sent by ``principal``."""
    try:
        parsed = request.parse(request.admit(principal, body))
    except ValidationError as exc:
        return from_exception(exc)
    except DomainError as exc:
        log.info(
            "request refused",
            request=request.title,
            code=exc.code,
            reason=exc.message,
            principal=str(principal),
        )
        return from_exception(exc)
    with bound_contextvars(**request.context(parsed)):
        try:
            result = await request.handle(parsed)
        except request.refused as exc:
            if isinstance(exc, DomainError):
                log.info(
                    "request refused", request=request.title, code=exc.code, reason=exc.message
                )
            return from_exception(exc)
        except Exception:
            log.exception("request failed", request=request.title)
            return error("internal_error", request.failed)
    return ok(result)
