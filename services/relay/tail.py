"""Where a relay resumes: after the stream's last message, or the checkpoint.

The checkpoint is written after the PubAcks, so a relay killed between the
two leaves it behind what the stream holds. Within JetStream's duplicate
window a resend would be dropped anyway; past it, only reading the stream's
tail prevents publishing those events twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from tousu.services.relay.message import PublishedRef, published_ref
from tousu.shared.logs import get_logger
from tousu.shared.store.postgres import PostgresEventStore

log = get_logger(__name__)

# How far back from the stream's end to look for the relay's last message when
# the very last ones came from someone else (nobody else should publish there).
TAIL_SCAN = 100


@dataclass(frozen=True)
class ResumePoint:
    after: int  # read_all position of the last event known to be in the stream
    last_sequence: int  # the stream's last sequence, 0 when it is empty
    source: Literal["stream", "checkpoint"]
    checkpoint: int  # what the checkpoint said


async def find_resume_point(
    store: PostgresEventStore, js: JetStreamContext, stream: str, checkpoint: str
) -> ResumePoint:
    position = await store.get_checkpoint(checkpoint)
    info = await js.stream_info(stream)
    last_sequence = int(info.state.last_seq or 0)
    if last_sequence == 0:
        return ResumePoint(position, 0, "checkpoint", position)
    ref = await _last_relayed(store, js, stream, last_sequence)
    if ref is None:
        log.warning(
            "relay found no event of this store at the stream's end; resuming from the checkpoint",
            stream=stream,
            sequence=last_sequence,
            checkpoint=position,
        )
        return ResumePoint(position, last_sequence, "checkpoint", position)
    # The tail is at or past the checkpoint in commit order: the checkpoint
    # only ever names an event whose PubAck (hence its storage, in order)
    # arrived. Positions are not monotonic in commit order, so "after the
    # tail" is the only comparison that is right, and it is what read_all takes.
    return ResumePoint(ref.global_position, last_sequence, "stream", position)


async def _last_relayed(
    store: PostgresEventStore, js: JetStreamContext, stream: str, last_sequence: int
) -> PublishedRef | None:
    for sequence in range(last_sequence, max(0, last_sequence - TAIL_SCAN), -1):
        try:
            message = await js.get_msg(stream, seq=sequence)
        except NotFoundError:
            continue  # deleted
        ref = published_ref(message.headers)
        if ref is not None and await _is_stored(store, ref):
            if sequence != last_sequence:
                log.warning(
                    "relay stream ends with foreign messages",
                    stream=stream,
                    count=last_sequence - sequence,
                )
            return ref
    return None


async def _is_stored(store: PostgresEventStore, ref: PublishedRef) -> bool:
    # The row itself, not read_stream: a later row of the stream that is no
    # valid envelope (it is in the quarantine) must not fail the resume.
    try:
        event_id = uuid.UUID(ref.event_id)
    except ValueError:
        return False
    return bool(
        await store.pool.fetchval(
            "SELECT EXISTS (SELECT FROM events WHERE stream_id = $1 AND version = $2 "
            "AND event_id = $3 AND global_position = $4)",
            ref.stream_id,
            ref.version,
            event_id,
            ref.global_position,
        )
    )
