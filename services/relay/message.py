"""How a stored event becomes a JetStream message, and what the relay reads back."""

from __future__ import annotations

from dataclasses import dataclass

from tousu.services.relay.quarantine import INVALID_SUBJECT, TOO_LARGE
from tousu.shared.events import Envelope
from tousu.shared.naming import Naming

MSG_ID = "Nats-Msg-Id"
EXPECTED_LAST_SEQUENCE = "Nats-Expected-Last-Sequence"
EXPECTED_LAST_MSG_ID = "Nats-Expected-Last-Msg-Id"
GLOBAL_POSITION = "Tousu-Global-Position"
STREAM_ID = "Tousu-Stream-Id"
VERSION = "Tousu-Version"
CORRELATION_ID = "Tousu-Correlation-Id"
# On an event the relay publishes again after an operator released it from
# the quarantine: it stands at the stream's end, out of commit order, so a
# relay resuming from the stream's tail must not take it for its position.
RELEASED = "Tousu-Released"
# What the NATS protocol adds around the headers: "NATS/1.0\r\n" ... "\r\n".
_HEADER_FRAME = 12
# Room for the headers the publisher adds later: the expected last sequence
# and message id, and the released mark.
_LATER_HEADERS = 160


class Unpublishable(Exception):
    """No JetStream message can be made of this event; the relay sets it aside."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class OutgoingMessage:
    subject: str
    payload: bytes
    headers: dict[str, str]

    @property
    def size(self) -> int:
        """Bytes of headers and payload, as the server counts against max_payload."""
        headers = sum(len(k.encode()) + len(v.encode()) + 4 for k, v in self.headers.items())
        return _HEADER_FRAME + headers + len(self.payload)


def encode(envelope: Envelope, naming: Naming, max_payload: int | None = None) -> OutgoingMessage:
    """The event's message; :class:`Unpublishable` when there can be none.

    ``max_payload`` is the server's limit on headers and payload together: a
    larger message would not be refused politely but end the connection.
    """
    try:
        subject = naming.event(envelope.department, envelope.type)
    except ValueError as exc:
        raise Unpublishable(INVALID_SUBJECT, str(exc)) from None
    message = OutgoingMessage(
        subject=subject,
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
    if max_payload is not None and (size := message.size + _LATER_HEADERS) > max_payload:
        raise Unpublishable(TOO_LARGE, f"{size} bytes, the NATS server takes {max_payload}")
    return message


@dataclass(frozen=True)
class PublishedRef:
    """What a relay-published message says about the event it carries."""

    event_id: str
    global_position: int
    stream_id: str
    version: int


def published_ref(headers: dict[str, str] | None) -> PublishedRef | None:
    """The event a stream message carries, or None when no relay published it in
    commit order (someone else did, or it is a released event republished)."""
    if not headers or RELEASED in headers:
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
