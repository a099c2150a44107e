"""Reading and replaying dead letters (the ``<root>.dlq.<consumer>`` subjects).

An entry's id is its sequence number in the DLQ stream. Replaying publishes the
original message to ``<root>.dlq-retry.<consumer>``, which only that consumer
reads, then deletes the entry; the consumer deletes the replay copy once it
has settled it (or dead-letters it again as a new entry).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError

from tousu.shared.consumer import headers as h
from tousu.shared.naming import Naming


class UnknownEntry(LookupError):
    """No dead letter has this id."""


@dataclass(frozen=True)
class DlqEntry:
    id: int
    consumer: str
    original_subject: str
    event_type: str | None
    event_id: str | None
    error: str
    failed_at: datetime | None
    deliveries: int | None
    traceback: str = field(repr=False)
    payload: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)

    def as_dict(self, *, details: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "consumer": self.consumer,
            "original_subject": self.original_subject,
            "event_type": self.event_type,
            "event_id": self.event_id,
            "error": self.error,
            "failed_at": self.failed_at.isoformat() if self.failed_at else None,
            "deliveries": self.deliveries,
        }
        if details:
            out["traceback"] = self.traceback
            out["headers"] = self.headers
            out["payload"] = self.payload.decode("utf-8", errors="replace")
        return out


@dataclass(frozen=True)
class RetryResult:
    id: int
    consumer: str
    event_id: str | None
    subject: str  # where the replay was published
    replay_seq: int
    duplicate: bool  # the replay had been published already (an interrupted retry)


async def list_entries(
    js: JetStreamContext, naming: Naming, consumer: str | None = None, limit: int | None = None
) -> list[DlqEntry]:
    """Dead letters, oldest first; of one consumer when ``consumer`` is given."""
    subject = naming.dlq(consumer) if consumer else f"{naming.root}.dlq.>"
    try:
        await js.stream_info(naming.dlq_stream)
    except NotFoundError:
        return []  # no service has started yet: nothing can have failed
    entries: list[DlqEntry] = []
    seq = 1
    while limit is None or len(entries) < limit:
        try:
            raw = await js.get_msg(naming.dlq_stream, seq=seq, subject=subject, next=True)
        except NotFoundError:
            break
        entries.append(_entry(naming, raw))
        seq = _seq(raw) + 1
    return entries


async def get_entry(js: JetStreamContext, naming: Naming, entry_id: int) -> DlqEntry:
    if entry_id < 1:
        raise UnknownEntry(f"no dead letter {entry_id}")
    try:
        raw = await js.get_msg(naming.dlq_stream, seq=entry_id)
    except NotFoundError:
        raise UnknownEntry(f"no dead letter {entry_id}") from None
    if not (raw.subject or "").startswith(_prefix(naming)):
        raise UnknownEntry(f"{entry_id} is not a dead letter (it is on {raw.subject})")
    return _entry(naming, raw)


async def retry(js: JetStreamContext, naming: Naming, entry_id: int) -> RetryResult:
    """Replay entry ``entry_id`` to the consumer that failed it, then delete it."""
    entry = await get_entry(js, naming, entry_id)
    headers = {
        k: v
        for k, v in h.carried_over(entry.headers).items()
        if k not in h.FAILURE_HEADERS and k != h.CONSUMER
    }
    headers[h.RETRY_OF] = str(entry.id)
    # Running the same retry twice (say it was interrupted before the delete)
    # must not replay twice.
    headers[h.MSG_ID] = f"retry:{entry.id}"
    subject = naming.dlq_retry(entry.consumer)
    ack = await js.publish(subject, entry.payload, headers=headers, stream=naming.dlq_stream)
    await js.delete_msg(naming.dlq_stream, entry.id)
    return RetryResult(
        id=entry.id,
        consumer=entry.consumer,
        event_id=entry.event_id,
        subject=subject,
        replay_seq=ack.seq,
        duplicate=bool(ack.duplicate),
    )


async def retry_all(js: JetStreamContext, naming: Naming, consumer: str) -> list[RetryResult]:
    return [await retry(js, naming, e.id) for e in await list_entries(js, naming, consumer)]


def _prefix(naming: Naming) -> str:
    return f"{naming.root}.dlq."


def _seq(raw: RawStreamMsg) -> int:
    if raw.seq is None:
        raise ValueError("stream message without a sequence number")
    return int(raw.seq)


def _entry(naming: Naming, raw: RawStreamMsg) -> DlqEntry:
    subject = raw.subject or ""
    # nats-py parses stored headers with an e-mail parser; make them plain str.
    headers = {str(k): str(v).strip() for k, v in (raw.headers or {}).items()}
    payload = raw.data or b""
    envelope = _loose_envelope(payload)
    original_subject = headers.get(h.ORIGINAL_SUBJECT, "")
    event_type = envelope.get("type")
    if not isinstance(event_type, str):
        event_type = original_subject.rsplit(".", 1)[-1] if original_subject else None
    event_id = envelope.get("event_id")
    if not isinstance(event_id, str):
        event_id = headers.get(h.ORIGINAL_MSG_ID)
    return DlqEntry(
        id=_seq(raw),
        consumer=subject.removeprefix(_prefix(naming)),
        original_subject=original_subject,
        event_type=event_type,
        event_id=event_id,
        error=h.decode_text(headers.get(h.ERROR)),
        traceback=h.decode_text(headers.get(h.TRACEBACK)),
        failed_at=_datetime(headers.get(h.FAILED_AT)),
        deliveries=_int(headers.get(h.DELIVERIES)),
        payload=payload,
        headers=headers,
    )


def _loose_envelope(payload: bytes) -> dict[str, Any]:
    """What can be read of the payload: malformed ones end up here too."""
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _datetime(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
