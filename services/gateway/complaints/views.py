"""What the case routes return: response models and how a case becomes one."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tousu.services.gateway.complaints.reader import Case
from tousu.services.gateway.problems import Lang
from tousu.shared.domain.decide import WORKING
from tousu.shared.domain.handling_order import next_step
from tousu.shared.domain.labels import event_label
from tousu.shared.domain.late_entries import late_marks
from tousu.shared.domain.state import ComplaintState
from tousu.shared.domain.status import Status
from tousu.shared.events import Envelope, UnknownEventType, decode
from tousu.shared.events.types import Complainant, Deadline, LateEntryRecorded

# Never shown, not even to staff: a hash of the complainant's access code can
# be brute-forced offline when the code is short.
HIDDEN_DATA = frozenset({"access_code_hash"})


class EventRef(BaseModel):
    event_id: uuid.UUID
    type: str
    version: int
    global_position: int


class CommandResult(BaseModel):
    """The case after the command, and the events it appended."""

    complaint_id: uuid.UUID
    tracking_no: str | None
    status: Status | None
    status_label: str | None
    version: int
    department: str | None
    # True when the command (same Idempotency-Key) had been executed before:
    # these are the events it appended then, and nothing new was appended.
    repeated: bool = False
    events: list[EventRef]


class DeadlineOut(BaseModel):
    due_at: datetime
    working_days: int
    # Computed without the official holiday schedule of its year (not out yet).
    provisional: bool


class ActorOut(BaseModel):
    id: str
    role: str
    department: str | None = None


class LateEntryOut(BaseModel):
    """A step recorded later than it happened (补录), marked by the
    LateEntryRecorded event after it."""

    recorded_at: datetime
    late_by_seconds: int
    within_window: bool
    approved_by: str | None
    reason: str | None
    # Which window applied: registration, working_day, system, or import (a
    # step brought in from an earlier system by `tousu import`, docs/import.md).
    window: str = "working_day"


class TimelineEntry(BaseModel):
    event_id: uuid.UUID
    version: int
    type: str
    label: str
    occurred_at: datetime
    recorded_at: datetime
    actor: ActorOut
    department: str | None
    correlation_id: uuid.UUID
    data: dict[str, Any]
    late_entry: LateEntryOut | None = None


class CaseOut(BaseModel):
    complaint_id: uuid.UUID
    version: int
    status: Status
    status_label: str
    tracking_no: str | None
    channel: str | None
    subject: str | None
    complainant: Complainant | None
    category: str | None
    subcategory: str | None
    service_item: str | None
    department: str | None
    handler: str | None
    round: int
    received_at: datetime | None
    accepted_at: datetime | None
    first_feedback_at: datetime | None
    deadlines: dict[str, DeadlineOut]
    # The feedback date the acceptance notice promised, kept as it was said.
    promised_feedback: DeadlineOut | None
    extension_days: int
    pending_extension_days: int
    return_count: int
    needs_arbitration: bool
    satisfaction: str | None
    merged_into: str | None
    duplicates: list[str]
    supervision_count: int
    # The handling step this round owes next, in the policy's order
    # (investigation, plan, consultation), while a department handles it.
    next_step: str | None = None
    timeline: list[TimelineEntry]


def _next_step(state: ComplaintState) -> str | None:
    if state.status not in WORKING:
        return None
    step = next_step(state)
    return step.value if step is not None else None


def status_label(status: Status | str | None, lang: Lang) -> str | None:
    if status is None:
        return None
    try:
        return Status(status).label(lang)
    except ValueError:
        return str(status)


def _deadline(deadline: Deadline | None) -> DeadlineOut | None:
    if deadline is None:
        return None
    return DeadlineOut(
        due_at=deadline.due_at,
        working_days=deadline.working_days,
        provisional=deadline.provisional,
    )


def _data(envelope: Envelope) -> dict[str, Any]:
    try:
        # Upcast to today's schema, so that old events read like new ones.
        data = decode(envelope).model_dump(mode="json")
    except UnknownEventType:
        data = dict(envelope.data)
    return {k: v for k, v in data.items() if k not in HIDDEN_DATA}


def timeline_entry(
    envelope: Envelope, lang: Lang, late: tuple[Envelope, LateEntryRecorded] | None = None
) -> TimelineEntry:
    actor = envelope.actor
    return TimelineEntry(
        event_id=envelope.event_id,
        version=envelope.version,
        type=envelope.type,
        label=event_label(envelope.type, lang),
        occurred_at=envelope.occurred_at,
        recorded_at=envelope.recorded_at,
        actor=ActorOut(id=actor.id, role=actor.role, department=actor.department),
        department=envelope.department,
        correlation_id=envelope.correlation_id,
        data=_data(envelope),
        late_entry=None
        if late is None
        else LateEntryOut(
            recorded_at=late[0].recorded_at,
            late_by_seconds=late[1].late_by_seconds,
            within_window=late[1].within_window,
            approved_by=late[1].approved_by,
            reason=late[1].reason,
            window=late[1].window,
        ),
    )


def case_out(complaint_id: uuid.UUID, case: Case, lang: Lang) -> CaseOut:
    s = case.state
    assert s.status is not None  # only existing cases are shown
    marks = late_marks(case.history)
    deadlines = {
        kind.value: out
        for kind, deadline in s.deadlines.items()
        if (out := _deadline(deadline)) is not None
    }
    return CaseOut(
        complaint_id=complaint_id,
        version=s.version,
        status=s.status,
        status_label=s.status.label(lang),
        tracking_no=s.tracking_no,
        channel=s.channel.value if s.channel else None,
        subject=s.subject,
        complainant=s.complainant,
        category=s.category,
        subcategory=s.subcategory,
        service_item=s.service_item,
        department=s.department,
        handler=s.handler,
        round=s.round,
        received_at=s.received_at,
        accepted_at=s.accepted_at,
        first_feedback_at=s.first_feedback_at,
        deadlines=deadlines,
        promised_feedback=_deadline(s.promised_feedback),
        extension_days=s.extension_days,
        pending_extension_days=s.pending_extension_days,
        return_count=s.return_count,
        needs_arbitration=s.needs_arbitration,
        satisfaction=s.satisfaction.value if s.satisfaction else None,
        merged_into=s.merged_into,
        duplicates=list(s.duplicates),
        supervision_count=s.supervision_count,
        next_step=_next_step(s),
        timeline=[timeline_entry(e, lang, marks.get(e.version)) for e in case.history],
    )
