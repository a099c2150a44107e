"""``POST /api/v1/complaints``: an operator registers a complaint that came by phone,
letter, in person or WeChat, through the intake service's ``submit`` command.

:func:`submit` is also how the public web form files one.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import BaseModel, field_validator

from services.gateway.auth import Principal
from services.gateway.auth.dependencies import require_roles
from services.gateway.complaints.client import DEFAULT_TIMEOUT, NO_RESPONDERS, TIMED_OUT
from services.gateway.complaints.replies import RETRY_LATER, problem_for
from services.gateway.complaints.routes import _ACTION_RESPONSES
from services.gateway.complaints.views import status_label
from services.gateway.problems import DomainProblem, ServiceUnavailable, Text, request_language
from services.intake.submission import Submission
from shared.events import Actor
from shared.events.types import Channel
from shared.logs import get_logger
from shared.naming import Naming
from shared.settings import Settings

log = get_logger(__name__)

# What staff type in; web and Open311 arrive by their own adapters.
STAFF_CHANNELS = frozenset({Channel.PHONE, Channel.LETTER, Channel.WALK_IN, Channel.WECHAT})


Registrar = Annotated[Principal, Depends(require_roles("operator", "supervisor", "admin"))]


class Registration(Submission):
    """A complaint as an operator records it; ``received_at`` is when it reached us."""

    @field_validator("channel")
    @classmethod
    def _staff_channel(cls, channel: Channel) -> Channel:
        if channel not in STAFF_CHANNELS:
            allowed = ", ".join(sorted(c.value for c in STAFF_CHANNELS))
            raise ValueError(f"staff register {allowed} complaints only")
        return channel


class Registered(BaseModel):
    complaint_id: uuid.UUID
    tracking_no: str
    # Shown this once (none when the submission was a resend of one registered before).
    access_code: str | None
    status: str
    status_label: str | None
    acceptance_due: datetime | None
    repeated: bool = False
    duplicates: list[dict[str, Any]] = []
    suggestions: list[dict[str, Any]] = []


def _submission_field(field: str) -> str:
    # The service names fields of its request ("submission.complainant.phone")
    # or of the submission ("complainant.phone"); the client sent them as the body.
    return field.removeprefix("submission.")


def _problem(error: Mapping[str, Any]) -> DomainProblem:
    details = error.get("details")
    if isinstance(details, Mapping):  # InvalidSubmission: {"fields": [...]}
        details = details.get("fields")
    fields = [
        {**d, "field": _submission_field(str(d.get("field", "")))}
        for d in (details if isinstance(details, list) else [])
        if isinstance(d, Mapping)
    ]
    return problem_for({**error, "details": fields}, "submit")


def _unavailable(detail: Text, code: str) -> ServiceUnavailable:
    return ServiceUnavailable(detail, code=code, headers={"Retry-After": "1"})


async def submit(
    nats: NatsClient, naming: Naming, submission: Submission, actor: Actor
) -> dict[str, Any]:
    """Intake's ``Submitted`` as JSON, or a problem for its refusal."""
    subject = naming.command("intake", "submit")
    payload = {
        "submission": submission.model_dump(mode="json", exclude_unset=True),
        "actor": actor.model_dump(mode="json"),
    }
    try:
        reply = await nats.request(subject, json.dumps(payload).encode(), timeout=DEFAULT_TIMEOUT)
    except NoRespondersError:
        raise _unavailable(NO_RESPONDERS, "no_responders") from None
    except NatsTimeout:
        raise _unavailable(TIMED_OUT, "service_timeout") from None
    except NatsError as exc:
        log.warning("submission not sent", error=repr(exc))
        raise _unavailable(RETRY_LATER, "nats_unavailable") from None
    try:
        body = json.loads(reply.data)
    except ValueError:
        raise _unavailable(RETRY_LATER, "bad_reply") from None
    if isinstance(body, dict) and body.get("ok") is True and isinstance(body.get("result"), dict):
        result: dict[str, Any] = body["result"]
        return result
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        raise _unavailable(RETRY_LATER, "bad_reply")
    if error.get("code") == "internal_error":
        log.error("submission failed in the intake service", error=error)
    raise _problem(error)


def registration_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])
    naming = settings.naming

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=Registered,
        responses={k: v for k, v in _ACTION_RESPONSES.items() if k in (403, 422, 503)},
        operation_id="register_complaint",
    )
    async def register_complaint(
        body: Registration, request: Request, principal: Registrar
    ) -> Registered:
        """Register a phone, letter, walk-in or WeChat complaint (roles operator,
        supervisor, admin). Each channel has fields it needs (a caller's number, a
        letter's date and address); a missing one is a 422 naming it."""
        result = await submit(request.app.state.connections.nats, naming, body, principal.actor())
        label = status_label(result.get("status"), request_language(request))
        return Registered.model_validate({**result, "status_label": label})

    return router
