"""``/api/v1/public``: what a complainant does without signing in."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tousu.services.gateway.complaints.actions import ACTIONS
from tousu.services.gateway.complaints.client import CommandClient
from tousu.services.gateway.complaints.registration import submit
from tousu.services.gateway.complaints.request_id import correlation_id
from tousu.services.gateway.complaints.routes import IdempotencyKey
from tousu.services.gateway.contacts import LIMITS as CONTACT_LIMITS
from tousu.services.gateway.contacts import valid_email, valid_phone
from tousu.services.gateway.problems import PROBLEM_JSON, request_language
from tousu.services.gateway.public.access import case_for_code
from tousu.services.gateway.public.idempotency import check_resend, keyed
from tousu.services.gateway.public.views import NEXT_STEPS, PublicCase, public_case
from tousu.shared.domain import commands as c
from tousu.shared.domain.commands import ComplainantFacts
from tousu.shared.domain.inputs import Instant, Text
from tousu.shared.domain.status import Status
from tousu.shared.events import Actor, utcnow
from tousu.shared.events.types import Channel, Satisfaction
from tousu.shared.intake.commitments import CommitmentRegister, PublicRegister
from tousu.shared.intake.submission import Submission
from tousu.shared.settings import Settings

# Whoever holds the tracking number and code; the events never name them.
PUBLIC_ACTOR = Actor(id="public", role="complainant")
FOLLOW_UP = next(a for a in ACTIONS if a.name == "follow-up")

_PROBLEM: dict[str, Any] = {"content": {PROBLEM_JSON: {}}}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "Unknown number, or a missing or wrong code (the same answer)", **_PROBLEM}
}

TrackingNo = Annotated[str, Path(max_length=40, description="The tracking number, e.g. TS2603-…")]
AccessCode = Annotated[
    str | None, Query(max_length=40, description="The access code given when filing")
]


def _same(name: str) -> Any:
    # The web form's fields are the submission's own, with their limits.
    return Submission.model_fields[name]


class PublicComplainant(ComplainantFacts):
    """Contact details as the public gives them, checked as the web form checks
    them (tousu.services.gateway.contacts): a phone number we can call, an e-mail
    address we can write to, bounded lengths."""

    name: str | None = Field(default=None, max_length=CONTACT_LIMITS["name"])
    phone: str | None = Field(default=None, max_length=CONTACT_LIMITS["phone"])
    email: str | None = Field(default=None, max_length=CONTACT_LIMITS["email"])
    address: str | None = Field(default=None, max_length=CONTACT_LIMITS["address"])

    @field_validator("phone")
    @classmethod
    def _callable(cls, phone: str | None) -> str | None:
        if phone is not None and not valid_phone(phone):
            raise ValueError(
                "请填写可拨打的电话号码 / a phone number we can call, "
                "e.g. 13912345678 or 010-12345678"
            )
        return phone

    @field_validator("email")
    @classmethod
    def _writable(cls, email: str | None) -> str | None:
        if email is not None and not valid_email(email):
            raise ValueError("请填写电子邮箱地址 / an e-mail address, e.g. name@example.com")
        return email

    @field_validator("key", "sealed", "erased")
    @classmethod
    def _not_from_the_public(cls, value: object) -> object:
        # Set by the store when it seals the contacts, never by the sender.
        if value:
            raise ValueError("由系统设置，不能提交 / set by the server, not by the sender")
        return value


class WebComplaint(BaseModel):
    """A complaint filed on the web site: the server sets the channel and the time."""

    model_config = ConfigDict(extra="forbid")

    complainant: PublicComplainant
    subject: Text = _same("subject")
    description: Text = _same("description")
    happened_at: Instant | None = _same("happened_at")
    location: Text | None = _same("location")
    people_involved: Text | None = _same("people_involved")
    demands: Text | None = _same("demands")
    category: Text | None = _same("category")
    subcategory: Text | None = _same("subcategory")
    service_item: Text | None = _same("service_item")
    language: Text = _same("language")
    # A 监督举报 about how an earlier complaint was handled names it.
    related_tracking_no: Text | None = _same("related_tracking_no")

    def submission(self) -> Submission:
        return Submission.model_validate(
            {"channel": Channel.WEB, **self.model_dump(exclude_unset=True)}
        )


class Filed(BaseModel):
    complaint_id: uuid.UUID
    tracking_no: str
    # Shown this once: the complainant needs it, with the number, to follow the case.
    access_code: str | None
    status: str
    acceptance_due: datetime | None
    next_steps: str
    # True when this answers a resend (same Idempotency-Key and body): nothing
    # new was filed, and the access code is not shown again.
    repeated: bool = False


class FollowUpBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    satisfaction: Literal[
        Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED, Satisfaction.DISSATISFIED
    ]
    comment: Text | None = Field(default=None, max_length=c.TEXT)


class FollowUpResult(BaseModel):
    tracking_no: str | None
    status: Status | None
    status_label: str | None


def public_router(settings: Settings) -> APIRouter:
    router = APIRouter(prefix="/api/v1/public", tags=["public"])
    naming = settings.naming

    @router.post(
        "/complaints",
        status_code=status.HTTP_201_CREATED,
        response_model=Filed,
        responses={422: {"description": "Invalid input, naming each field", **_PROBLEM}},
        operation_id="public_file_complaint",
    )
    async def file_complaint(
        body: WebComplaint, request: Request, idempotency_key: IdempotencyKey = None
    ) -> Filed:
        """File a complaint on the web; keep the tracking number and access code.

        With an ``Idempotency-Key``, sending the same body again files nothing
        new: the answer names the same complaint, with ``repeated`` true and no
        access code (it is shown once). The same key with another body is a 422."""
        connections = request.app.state.connections
        submission = keyed(body.submission(), "api", idempotency_key)
        result = await submit(connections.nats, naming, submission, PUBLIC_ACTOR, details=False)
        await check_resend(connections.store, submission, result)
        lang = request_language(request)
        next_steps = NEXT_STEPS[Status.RECEIVED].get(lang)
        return Filed.model_validate({**result, "next_steps": next_steps})

    @router.get(
        "/complaints/{tracking_no}",
        response_model=PublicCase,
        responses=_NOT_FOUND,
        operation_id="public_get_complaint",
    )
    async def get_complaint(
        tracking_no: TrackingNo, request: Request, code: AccessCode = None
    ) -> PublicCase:
        """Status, deadlines, notices and the public timeline of one's own complaint."""
        _, case = await case_for_code(request, tracking_no, code)
        return public_case(case, request_language(request))

    @router.post(
        "/complaints/{tracking_no}/follow-up",
        response_model=FollowUpResult,
        responses={
            **_NOT_FOUND,
            409: {"description": "The complaint is not awaiting a follow-up", **_PROBLEM},
        },
        operation_id="public_follow_up",
    )
    async def follow_up(
        tracking_no: TrackingNo,
        body: Annotated[FollowUpBody, Body()],
        request: Request,
        code: AccessCode = None,
    ) -> FollowUpResult:
        """The satisfaction survey (回访): dissatisfied sends the case back for re-handling."""
        complaint_id, _ = await case_for_code(request, tracking_no, code)
        command = c.RecordFollowUp(
            actor=PUBLIC_ACTOR,
            occurred_at=utcnow(),
            satisfaction=body.satisfaction,
            comment=body.comment,
            correlation_id=correlation_id(request),
        )
        client = CommandClient(request.app.state.connections.nats, naming)
        result = await client.send(FOLLOW_UP, complaint_id, command)
        state = result.get("status")
        label = Status(state).label(request_language(request)) if state else None
        return FollowUpResult(
            tracking_no=result.get("tracking_no"), status=state, status_label=label
        )

    @router.get("/commitments", response_model=PublicRegister, operation_id="public_commitments")
    async def commitments(
        request: Request,
        lang: Annotated[
            Literal["zh", "en"] | None, Query(description="Default: Accept-Language")
        ] = None,
    ) -> PublicRegister:
        """The published service-commitment register (服务承诺): items and their standards."""
        return CommitmentRegister.load().public_view(lang or request_language(request))

    return router
