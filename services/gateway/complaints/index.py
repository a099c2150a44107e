"""The ``case_index`` projection: one row per complaint, for the staff case list.

Consumer ``case-index`` (run by the metrics service) takes every event, replays
its complaint's stream and upserts the row in the transaction that records the
event as handled, so the row and the consumer's progress never disagree. The
row is rebuilt from the whole stream each time, never patched from the one
event: redeliveries, retries and replicas handling one stream's events out of
order all leave the same row, and the version guard stops an older picture
overwriting a newer one.
"""

from __future__ import annotations

import uuid
from dataclasses import astuple, dataclass
from datetime import datetime

from shared.consumer import Consumer
from shared.domain.state import ComplaintState, replay
from shared.events import Envelope
from shared.events.envelope import STREAM_PREFIX
from shared.events.types import DeadlineKind
from shared.store import UnitOfWork
from shared.store.postgres import Connection, PgUnitOfWork

CONSUMER = "case-index"

_UPSERT = """
INSERT INTO case_index (complaint_id, tracking_no, status, department, handler, channel,
                        category, subject, received_at, acceptance_due_at, feedback_due_at,
                        updated_at, version)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
ON CONFLICT (complaint_id) DO UPDATE SET
    tracking_no = excluded.tracking_no, status = excluded.status,
    department = excluded.department, handler = excluded.handler,
    channel = excluded.channel, category = excluded.category, subject = excluded.subject,
    received_at = excluded.received_at, acceptance_due_at = excluded.acceptance_due_at,
    feedback_due_at = excluded.feedback_due_at, updated_at = excluded.updated_at,
    version = excluded.version
WHERE case_index.version < excluded.version
"""


@dataclass(frozen=True)
class IndexRow:
    complaint_id: uuid.UUID
    tracking_no: str | None
    status: str
    department: str | None
    handler: str | None
    channel: str | None
    category: str | None
    subject: str | None
    received_at: datetime | None
    acceptance_due_at: datetime | None
    feedback_due_at: datetime | None
    updated_at: datetime
    version: int


def index_row(complaint_id: uuid.UUID, state: ComplaintState, last: Envelope) -> IndexRow | None:
    if state.status is None:
        return None
    acceptance = state.deadlines.get(DeadlineKind.ACCEPTANCE)
    feedback = state.deadlines.get(DeadlineKind.FEEDBACK)
    return IndexRow(
        complaint_id=complaint_id,
        tracking_no=state.tracking_no,
        status=state.status.value,
        department=state.department,
        handler=state.handler,
        channel=state.channel.value if state.channel else None,
        category=state.category,
        subject=state.subject,
        received_at=state.received_at,
        acceptance_due_at=acceptance.due_at if acceptance else None,
        feedback_due_at=feedback.due_at if feedback else None,
        updated_at=last.recorded_at,
        version=state.version,
    )


async def upsert(conn: Connection, row: IndexRow) -> None:
    await conn.execute(_UPSERT, *astuple(row))


def _complaint_id(stream_id: str) -> uuid.UUID | None:
    if not stream_id.startswith(STREAM_PREFIX):
        return None
    try:
        return uuid.UUID(stream_id.removeprefix(STREAM_PREFIX))
    except ValueError:
        return None


async def handle(envelope: Envelope, uow: UnitOfWork) -> None:
    complaint_id = _complaint_id(envelope.stream_id)
    if complaint_id is None:
        return
    history = await uow.read_stream(envelope.stream_id)
    if not history:
        return
    row = index_row(complaint_id, replay(history), history[-1])
    if row is None:
        return
    if not isinstance(uow, PgUnitOfWork):
        raise TypeError("the case index lives in PostgreSQL: it needs a PgUnitOfWork")

    async def write(conn: Connection) -> None:
        await upsert(conn, row)

    uow.defer(write)


def case_index() -> Consumer:
    return Consumer(CONSUMER, handle)
