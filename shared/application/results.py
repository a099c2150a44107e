"""What the replies on ``<root>.cmd.<service>.<name>`` carry, as models.

The handlers build their replies as plain dicts (``replies.ok`` and
``replies.error``, ``nats_commands.outcome_result``, intake's
``Submitted.as_json``); these models say the same shapes once more so that
the published JSON Schemas (``tousu.shared.application.schemas``) can be
generated from models. The contract test of the e2e suite validates every
real reply against them, so a reply that changes shape without its model
fails there.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Reply(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StoredEventRef(_Reply):
    """One event a command stored."""

    event_id: uuid.UUID
    type: str
    version: int = Field(ge=1)
    global_position: int = Field(ge=1)


class CommandOutcome(_Reply):
    """The ``result`` of a command request: the complaint after the command."""

    complaint_id: uuid.UUID
    tracking_no: str | None
    status: str | None
    version: int = Field(ge=0)
    department: str | None
    # The command had been executed already (same command_id): nothing new stored.
    repeated: bool
    events: list[StoredEventRef]


class DuplicateFound(_Reply):
    """An earlier complaint the submission may repeat."""

    complaint_id: str
    tracking_no: str | None
    score: float
    reason: str


class CategorySuggestion(_Reply):
    """A likely classification of the text: a category (in scope) or an
    out-of-scope code, for the operator who decides."""

    category: str | None
    subcategory: str | None
    out_of_scope: str | None
    in_scope: bool
    score: float


class SubmitResult(_Reply):
    """The ``result`` of ``<root>.cmd.intake.submit``: the complaint registered."""

    complaint_id: uuid.UUID
    tracking_no: str
    # Shown once, for the complainant to follow the case; None on a resend.
    access_code: str | None
    status: str
    acceptance_due: datetime | None
    # A resend (same channel and external_ref): the first complaint, nothing new.
    repeated: bool
    duplicates: list[DuplicateFound]
    suggestions: list[CategorySuggestion]


class PingResult(_Reply):
    """The ``result`` of ``<root>.cmd.<service>.ping``: which process answered."""

    service: str
    pid: int
    host: str


class Ping(_Reply):
    """The body of ``<root>.cmd.<service>.ping``: nothing (``{}``)."""


class FieldProblem(_Reply):
    """One field a ``validation_error`` names."""

    field: str  # dotted path, e.g. "submission.complainant.phone"
    message: str
    type: str


class ErrorBody(_Reply):
    # validation_error, unauthenticated, forged_actor, illegal_transition, ...,
    # internal_error (docs/design.md, "Subjects and streams").
    code: str
    message: str
    # validation_error: the fields; a refusal: what it is about; else null.
    details: list[FieldProblem] | dict[str, Any] | None = None


class Refused(_Reply):
    """``{"ok": false, "error": {...}}``: the request was refused or failed."""

    ok: Literal[False]
    error: ErrorBody
