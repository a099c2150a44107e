"""The read request ``<root>.cmd.metrics.case``: one case as a department's own
system needs it to work the case.

The department's events say what happened to a case, not what the complaint
is: the complaint's own facts (subject, description, place, demands, files)
are in its ``ComplaintReceived``, published before routing under no
department, where a department's consumer does not read. A department's
system (its credential) reads them here, for its department's cases only;
another department's case, or one returned, is ``not_found``. The
complainant's personal details are not in the reply: the department answers
the complainant through tousu's steps (feedback, notices), and the staff
pages show them to whoever may see them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from tousu.shared.application.credentials import ForgedActor, Kind, Principal
from tousu.shared.domain.errors import Forbidden
from tousu.shared.events import Actor
from tousu.shared.events.types import FileRef


class CaseRequest(BaseModel):
    """The body of ``<root>.cmd.metrics.case``."""

    model_config = ConfigDict(extra="forbid")

    complaint_id: uuid.UUID
    # Derived from a department's credential; a trusted sender may name one,
    # to read as that staff member would (a department's, confined to it).
    actor: Actor | None = None


class CaseFacts(BaseModel):
    """The ``result`` of ``<root>.cmd.metrics.case``: the case as it stands."""

    model_config = ConfigDict(extra="forbid")

    complaint_id: uuid.UUID
    tracking_no: str | None
    # The complaint's status (routed, claimed, investigating ... docs/lifecycle.md).
    status: str | None
    department: str | None
    handler: str | None
    channel: str | None
    category: str | None
    subcategory: str | None
    service_item: str | None
    subject: str | None
    description: str | None
    location: str | None
    happened_at: AwareDatetime | None
    people_involved: str | None
    demands: str | None
    received_at: AwareDatetime | None
    accepted_at: AwareDatetime | None
    # What the routing asked of the department (处理要求), if anything.
    requirements: str | None
    # 1, then 2 ... each time the complainant's dissatisfaction reopens it.
    round: int
    # Each current deadline's due instant, by kind (claim, feedback ...), and
    # those the case still owes.
    deadlines: dict[str, datetime]
    pending: list[str]
    # The files the complainant brought (their references; the staff pages
    # and API serve them).
    attachments: list[FileRef]
    # The complaint's version: send it as a command's expected_version to act
    # only on the case as read.
    version: int


def case_admission(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A department's system reads as itself (its department's cases); a
    trusted sender as the body says; a channel's adapter reads no cases."""
    if principal.kind is Kind.TRUSTED:
        return body
    actor = principal.actor()
    if principal.kind is not Kind.DEPARTMENT or actor is None:
        raise Forbidden(f"{principal} may not read cases", principal=str(principal))
    sent = body.get("actor")
    if sent is not None and sent != actor.model_dump(mode="json"):
        raise ForgedActor(f"{principal} reads as {actor.id}; the message names another actor")
    return {**body, "actor": actor.model_dump(mode="json")}
