"""``supervision_items``: one row per 督办 (SupervisionRaised) of a complaint —
who raised it, why, by when the department is to answer, and whether it is
still open. The supervision office's work list reads it.

Open (docs/supervision-web.md): the case is not finished (closed, rejected or
merged into another), and a notice about a deadline (the watcher's warning
or overdue notice) is about a deadline the case still owes with the same due
date — once that deadline is met or moved, its notice is settled; an
arbitration notice (returned twice) is settled once the office has routed the
case. Any other 督办 (a supervisor's own) stays open until the case is
finished; past its ``respond_by`` it is overdue.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from tousu.services.metrics.projections.base import Projection, Row
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.domain.state import ComplaintState, evolve
from tousu.shared.domain.status import FINAL, Status
from tousu.shared.events import Envelope, decode
from tousu.shared.events import types as ev
from tousu.shared.events.envelope import STREAM_PREFIX

ARBITRATION = "arbitration"
# A case in one of these states owes nothing more to a 督办.
FINISHED = frozenset({*FINAL, Status.MERGED})


class SupervisionItems(Projection):
    name = "supervision_items"
    schema_version = 1
    columns = (
        "event_id",
        "complaint_id",
        "tracking_no",
        "subject",
        "status",
        "department",
        "handler",
        "kind",
        "deadline",
        "deadline_due_at",
        "note",
        "respond_by",
        "related_complaint_id",
        "raised_at",
        "raised_by",
        "open",
    )

    def create_sql(self, table: str) -> str:
        return f"""
CREATE TABLE {table} (
    event_id             uuid        PRIMARY KEY,
    complaint_id         uuid        NOT NULL,
    tracking_no          text,
    subject              text,
    status               text        NOT NULL,
    department           text,
    handler              text,
    kind                 text        NOT NULL,
    deadline             text,
    deadline_due_at      timestamptz,
    note                 text,
    respond_by           timestamptz,
    related_complaint_id text,
    raised_at            timestamptz NOT NULL,
    raised_by            text        NOT NULL,
    open                 boolean     NOT NULL
);
CREATE INDEX ON {table} (complaint_id);
CREATE INDEX ON {table} (raised_at) WHERE open;
"""

    def rows(self, history: Sequence[Envelope], calendar: WorkdayCalendar) -> list[Row]:
        if not history or not history[0].stream_id.startswith(STREAM_PREFIX):
            return []
        state = ComplaintState()
        raised: list[tuple[Envelope, ev.SupervisionRaised, datetime | None]] = []
        for envelope in history:
            if envelope.type == "SupervisionRaised":
                data = decode(envelope)
                assert isinstance(data, ev.SupervisionRaised)
                owed = state.deadlines.get(data.deadline) if data.deadline else None
                raised.append((envelope, data, owed.due_at if owed else None))
            state = evolve(state, envelope)
        if state.status is None:
            return []
        complaint_id = uuid.UUID(history[0].stream_id.removeprefix(STREAM_PREFIX))
        out: list[Row] = []
        for envelope, data, due_at in raised:
            is_open = state.status not in FINISHED
            if data.deadline is not None:
                current = state.deadlines.get(data.deadline)
                is_open = is_open and (
                    data.deadline in state.pending_deadlines
                    and current is not None
                    and current.due_at == due_at
                )
            if data.kind == ARBITRATION:
                # Settled once the supervision office has routed the case.
                is_open = is_open and state.needs_arbitration
            out.append(
                (
                    envelope.event_id,
                    complaint_id,
                    state.tracking_no,
                    state.subject,
                    state.status.value,
                    state.department,
                    state.handler,
                    data.kind,
                    data.deadline.value if data.deadline else None,
                    due_at,
                    data.note,
                    data.respond_by,
                    data.related_complaint_id,
                    envelope.occurred_at,
                    envelope.actor.id,
                    is_open,
                )
            )
        return out
