"""The stored and published form of every event (docs/design.md, "Events")."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Role = Literal["system", "complainant", "operator", "handler", "dept_head", "supervisor", "admin"]

STREAM_PREFIX = "complaint-"


def complaint_stream(complaint_id: uuid.UUID) -> str:
    return f"{STREAM_PREFIX}{complaint_id}"


class Actor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    role: Role
    department: str | None = None


SYSTEM_ACTOR = Actor(id="tousu", role="system")


def utcnow() -> datetime:
    return datetime.now(UTC)


class NewEvent(BaseModel):
    """An event a service decided on, not yet stored.

    ``occurred_at`` is when the fact happened (a letter received last week),
    which is what deadlines and KPIs use; ``recorded_at`` is set by the store.
    ``department`` is the code of the department holding the case after this
    event (None before routing); the relay routes the event by it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    data: dict[str, Any]
    occurred_at: AwareDatetime = Field(default_factory=utcnow)
    correlation_id: uuid.UUID = Field(default_factory=uuid.uuid4)
    causation_id: uuid.UUID | None = None
    actor: Actor = SYSTEM_ACTOR
    schema_version: int = 1
    department: str | None = None


class Envelope(BaseModel):
    """A stored event, the envelope of docs/design.md, "Events", with ``department``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    type: str
    stream_id: str
    version: int = Field(ge=1)
    global_position: int = Field(ge=1)
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None
    actor: Actor
    schema_version: int
    data: dict[str, Any]
    department: str | None = None


def stored(
    event: NewEvent, *, stream_id: str, version: int, global_position: int, recorded_at: datetime
) -> Envelope:
    """The envelope ``event`` gets once stored at ``stream_id``/``version``."""
    return Envelope(
        event_id=event.event_id,
        type=event.type,
        stream_id=stream_id,
        version=version,
        global_position=global_position,
        occurred_at=event.occurred_at,
        recorded_at=recorded_at,
        correlation_id=event.correlation_id,
        causation_id=event.causation_id,
        actor=event.actor,
        schema_version=event.schema_version,
        data=event.data,
        department=event.department,
    )
