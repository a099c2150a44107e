"""How a stored event becomes a JetStream message, and what the relay reads back."""

from __future__ import annotations

from dataclasses import dataclass

from shared.events import Envelope
from shared.naming import Naming

MSG_ID = "Nats-Msg-Id"
EXPECTED_LAST_SEQUENCE = "Nats-Expected-Last-Sequence"
EXPECTED_LAST_MSG_ID = "Nats-Expected-Last-Msg-Id"
GLOBAL_POSITION = "Tousu-Global-Position"
STREAM_ID = "Tousu-Stream-Id"
VERSION = "Tousu-Version"
CORRELATION_ID = "Tousu-Correlation-Id"


@dataclass(frozen=True)
class OutgoingMessage:
    subject: str
    payload: bytes
    headers: dict[str, str]


def encode(envelope: Envelope, naming: Naming) -> OutgoingMessage:
    return OutgoingMessage(
        subject=naming.event(envelope.department, envelope.type),
        payload=envelope.model_dump_json().encode(),
        headers={
            # JetStream drops a second message with this id inside its
            # duplicate window, so a resend after a crash is harmless.
            MSG_ID: str(envelope.event_id),
            GLOBAL_POSITION: str(envelope.global_position),
            STREAM_ID: envelope.stream_id,
            VERSION: str(envelope.version),
            CORRELATION_ID: str(envelope.correlation_id),
        },
    )


@dataclass(frozen=True)
class PublishedRef:
    """What a relay-published message says about the event it carries."""

    event_id: str
    global_position: int
    stream_id: str
    version: int


def published_ref(headers: dict[str, str] | None) -> PublishedRef | None:
    """The event a stream message carries, or None when no relay published it."""
    if not headers:
        return None
    try:
        return PublishedRef(
            event_id=headers[MSG_ID],
            global_position=int(headers[GLOBAL_POSITION]),
            stream_id=headers[STREAM_ID],
            version=int(headers[VERSION]),
        )
    except (KeyError, ValueError):
        return None
