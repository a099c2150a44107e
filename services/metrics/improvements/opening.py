"""Consumer ``improvements``: a result feedback's 改进措施 become improvement
items, each on its own stream with its row in ``improvement_items``.

It reads the complaint's stream as it stood at the feedback, takes that
round's ComplaintResolved.improvements and appends one ImprovementItemOpened
per item (shared/domain/improvements.py). The items' ids and event ids derive
from the case, the round and the place, and the appends and rows commit with
the consumer's tracking row, so a redelivered feedback opens nothing new.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from tousu.services.metrics.improvements import table
from tousu.shared.application.catalogue import METRICS
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.consumer import Consumer
from tousu.shared.domain.imports import imported_versions
from tousu.shared.domain.improvements import Feedback, open_items
from tousu.shared.domain.state import replay
from tousu.shared.events import Envelope, decode
from tousu.shared.events import types as ev
from tousu.shared.events.envelope import STREAM_PREFIX
from tousu.shared.logs import get_logger
from tousu.shared.store import UnitOfWork
from tousu.shared.store.postgres import Connection, DeferredWrite, PgUnitOfWork

log = get_logger("tousu.improvements")

(_ENTRY,) = [entry for entry in METRICS.consumers if entry.name == "improvements"]
CONSUMER = _ENTRY.name


def feedback_of(envelope: Envelope, stream: list[Envelope]) -> Feedback | None:
    """What the feedback ``envelope`` promised, from its stream up to it; None
    for an earlier system's history (tousu import), told and done back then."""
    if envelope.version in imported_versions(stream):
        return None
    history = [e for e in stream if e.version <= envelope.version]
    sent = ev.ResultFeedbackSent.model_validate(envelope.data)
    resolved: tuple[Envelope, ev.ComplaintResolved] | None = None
    for e in reversed(history):
        if e.type == ev.ComplaintResolved.event_type():
            data = decode(e)
            assert isinstance(data, ev.ComplaintResolved)
            if data.round == sent.round:
                resolved = (e, data)
                break
    if resolved is None:
        raise LookupError(f"{envelope.stream_id}: feedback of round {sent.round} never resolved")
    state = replay(history)
    department = envelope.department or state.department
    if department is None:
        raise LookupError(f"{envelope.stream_id}: feedback from no department")
    by, data = resolved
    return Feedback(
        complaint_id=uuid.UUID(envelope.stream_id.removeprefix(STREAM_PREFIX)),
        tracking_no=state.tracking_no,
        round=sent.round,
        department=department,
        # Whoever resolved it owns its improvements (a department's system:
        # the case's handler, if it has one).
        owner=by.actor.id if by.actor.role in ("handler", "dept_head") else state.handler,
        improvements=data.improvements,
        fed_back_at=envelope.occurred_at,
        event_id=envelope.event_id,
        correlation_id=envelope.correlation_id,
    )


def improvements(calendar: Callable[[], WorkdayCalendar], working_days: int) -> Consumer:
    async def handle(envelope: Envelope, uow: UnitOfWork) -> None:
        if not isinstance(uow, PgUnitOfWork):  # the rows are a PostgreSQL table
            raise TypeError("the improvements consumer needs the PostgreSQL event store")
        feedback = feedback_of(envelope, await uow.read_stream(envelope.stream_id))
        if feedback is None:
            return
        opened = open_items(feedback, calendar(), working_days)
        stored: list[Envelope] = []
        for stream, event in opened:
            stored.extend(await uow.append(stream, 0, [event]))
        if stored:
            uow.defer(_rows(stored))
            log.info(
                "improvement items opened", tracking_no=feedback.tracking_no, items=len(stored)
            )

    # A feedback without improvements writes nothing, and would write nothing
    # again: it is decided by the history up to the feedback alone.
    return Consumer(
        CONSUMER,
        handle,
        event_types=_ENTRY.event_types,
        record_no_ops=False,
        reads_streams=True,
    )


def _rows(stored: list[Envelope]) -> DeferredWrite:
    async def write(conn: Connection) -> None:
        for envelope in stored:
            await table.record_opened(conn, envelope)

    return write
