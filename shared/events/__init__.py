"""Events: the envelope, typed data per event type, the registry and upcasting."""

from __future__ import annotations

from typing import Any

from tousu.shared.events import quality as _quality  # noqa: F401  (registers the office's event types)
from tousu.shared.events import types as _types  # noqa: F401  (registers every event type)
from tousu.shared.events.base import EventData, UnknownEventType, model_for
from tousu.shared.events.envelope import (
    SYSTEM_ACTOR,
    Actor,
    Envelope,
    NewEvent,
    complaint_stream,
    stored,
    utcnow,
)
from tousu.shared.events.upcast import upcast, upcaster

__all__ = [
    "SYSTEM_ACTOR",
    "Actor",
    "Envelope",
    "EventData",
    "NewEvent",
    "UnknownEventType",
    "complaint_stream",
    "decode",
    "new_event",
    "stored",
    "upcaster",
    "utcnow",
]


def decode(envelope: Envelope) -> EventData:
    """The envelope's data as its typed model, upcast to the current schema."""
    model = model_for(envelope.type)
    data = upcast(envelope.type, envelope.schema_version, model.schema_version, envelope.data)
    return model.model_validate(data)


def new_event(data: EventData, **envelope: Any) -> NewEvent:
    """A :class:`NewEvent` carrying ``data``; keyword arguments fill the envelope."""
    return NewEvent(
        type=data.event_type(),
        data=data.model_dump(mode="json"),
        schema_version=data.schema_version,
        **envelope,
    )
