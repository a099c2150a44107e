"""``POST /api/v1/complaints``: an operator registers a complaint that came by
phone, letter, in person, or by web or WeChat outside tousu, through the
intake service's ``submit`` command.

:func:`submit` is also how the public web form files one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, status
from nats.aio.client import Client as NatsClient
from pydantic import BaseModel, field_validator

from tousu.services.gateway.auth import Principal
from tousu.services.gateway.auth.dependencies import require_roles
from tousu.services.gateway.complaints.client import call
from tousu.services.gateway.complaints.replies import problem_for
from tousu.services.gateway.complaints.routes import _ACTION_RESPONSES
from tousu.services.gateway.complaints.views import status_label
from tousu.services.gateway.problems import DomainProblem, request_language
from tousu.shared.events import Actor
from tousu.shared.events.types import Channel
from tousu.shared.intake.submission import Submission
from tousu.shared.naming import Naming
from tousu.shared.settings import Settings

# What staff type in: a call, a letter, a visit, and a web or WeChat
# complaint that reached the organisation outside tousu (an e-mail, a WeChat
# message to a staff phone), registered with the time it came
# (docs/late-entries.md). Open311 clients submit themselves.
STAFF_CHANNELS = frozenset(
    {Channel.PHONE, Channel.LETTER, Channel.WALK_IN, Channel.WEB, Channel.WECHAT}
)


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
    if isinstance(details, Mapping) and "field" in details:  # the domain's InvalidCommand
        named = {**details, "field": _submission_field(str(details["field"]))}
        return problem_for({**error, "details": named}, "submit")
    if isinstance(details, Mapping):  # InvalidSubmission: {"fields": [...]}
        details = details.get("fields")
    fields = [
        {**d, "field": _submission_field(str(d.get("field", "")))}
        for d in (details if isinstance(details, list) else [])
        if isinstance(d, Mapping)
    ]
    return problem_for({**error, "details": fields}, "submit")


async def submit(
    nats: NatsClient,
    naming: Naming,
    submission: Submission,
    actor: Actor,
    *,
    details: bool = True,
) -> dict[str, Any]:
    """Intake's ``Submitted`` as JSON, or a problem for its refusal; ``details``:
    with possible duplicates and suggested categories (staff see them; a
    public form asks without, sparing intake the search)."""
    payload: dict[str, Any] = {
        "submission": submission.model_dump(mode="json", exclude_unset=True),
        "actor": actor.model_dump(mode="json"),
    }
    if not details:
        payload["details"] = False
    ok, answer = await call(nats, naming.command("intake", "submit"), payload)
    if not ok:
        raise _problem(answer)
    result: dict[str, Any] = answer
    return result


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
