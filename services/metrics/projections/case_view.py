"""``case_view``: one row per complaint — where it stands, who holds it, and
every deadline, with which of them are still owed and which have been
supervised (督办), the follow-up attempts made so far (回访), and the earlier
complaint a 监督举报 names. The staff case list, the overdue list, the
follow-up worklist and the deadline watcher read it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from tousu.services.metrics.projections.base import Projection, Row
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.domain.state import ComplaintState, evolve
from tousu.shared.events import Envelope, decode
from tousu.shared.events import types as ev
from tousu.shared.events.envelope import STREAM_PREFIX
from tousu.shared.events.types import DeadlineKind

# The events whose data the rows read beyond the state.
_READ = frozenset({"SupervisionRaised", "ComplaintReceived", "ComplaintFollowedUp"})


def _due(state: ComplaintState, kind: DeadlineKind) -> datetime | None:
    deadline = state.deadlines.get(kind)
    return deadline.due_at if deadline else None


class CaseView(Projection):
    name = "case_view"
    schema_version = 2
    columns = (
        "complaint_id",
        "tracking_no",
        "status",
        "department",
        "handler",
        "channel",
        "category",
        "subcategory",
        "service_item",
        "subject",
        "received_at",
        "accepted_at",
        "round",
        "acceptance_due_at",
        "claim_due_at",
        "return_due_at",
        "feedback_due_at",
        "follow_up_due_at",
        "promised_feedback_at",
        "provisional",
        "pending",
        "warned",
        "overdue_raised",
        "supervision_count",
        "follow_up_attempts",
        "last_follow_up_at",
        "related_complaint_id",
        "related_tracking_no",
        "updated_at",
        "version",
    )

    def create_sql(self, table: str) -> str:
        return f"""
CREATE TABLE {table} (
    complaint_id         uuid        PRIMARY KEY,
    tracking_no          text,
    status               text        NOT NULL,
    department           text,
    handler              text,
    channel              text,
    category             text,
    subcategory          text,
    service_item         text,
    subject              text,
    received_at          timestamptz,
    accepted_at          timestamptz,
    round                integer     NOT NULL,
    acceptance_due_at    timestamptz,
    claim_due_at         timestamptz,
    return_due_at        timestamptz,
    feedback_due_at      timestamptz,
    follow_up_due_at     timestamptz,
    promised_feedback_at timestamptz,
    provisional          boolean     NOT NULL,
    pending              text[]      NOT NULL,
    warned               text[]      NOT NULL,
    overdue_raised       text[]      NOT NULL,
    supervision_count    integer     NOT NULL,
    -- Follow-up attempts that did not reach the complainant (回访未接通), and
    -- when the last follow-up attempt of any outcome was made.
    follow_up_attempts   integer     NOT NULL,
    last_follow_up_at    timestamptz,
    -- The earlier complaint a 监督举报 is about.
    related_complaint_id uuid,
    related_tracking_no  text,
    updated_at           timestamptz NOT NULL,
    version              integer     NOT NULL
);
CREATE INDEX ON {table} (received_at DESC, complaint_id);
CREATE INDEX ON {table} (department, received_at DESC);
CREATE INDEX ON {table} (status, received_at DESC);
CREATE INDEX ON {table} (tracking_no);
CREATE INDEX ON {table} (related_complaint_id) WHERE related_complaint_id IS NOT NULL;
-- The watcher's and the overdue list's question: what is owed, and by when.
CREATE INDEX ON {table} USING gin (pending) WHERE pending <> '{{}}';
"""

    def rows(self, history: Sequence[Envelope], calendar: WorkdayCalendar) -> list[Row]:
        if not history or not history[0].stream_id.startswith(STREAM_PREFIX):
            return []
        state = ComplaintState()
        raised: list[tuple[str, DeadlineKind, datetime | None]] = []
        related: tuple[str | None, str | None] = (None, None)
        last_follow_up: datetime | None = None
        for envelope in history:
            data = decode(envelope) if envelope.type in _READ else None
            match data:
                case ev.SupervisionRaised() if data.deadline is not None:
                    raised.append((data.kind, data.deadline, _due(state, data.deadline)))
                case ev.ComplaintReceived():
                    related = (data.related_complaint_id, data.related_tracking_no)
                case ev.ComplaintFollowedUp():
                    last_follow_up = envelope.occurred_at
            state = evolve(state, envelope)
        if state.status is None:
            return []
        pending = state.pending_deadlines

        def supervised(level: str) -> list[str]:
            return sorted(
                {k.value for lvl, k, due in raised if lvl == level and due == _due(state, k)}
                & {k.value for k in pending}
            )

        promised = state.promised_feedback
        return [
            (
                uuid.UUID(history[0].stream_id.removeprefix(STREAM_PREFIX)),
                state.tracking_no,
                state.status.value,
                state.department,
                state.handler,
                state.channel.value if state.channel else None,
                state.category,
                state.subcategory,
                state.service_item,
                state.subject,
                state.received_at,
                state.accepted_at,
                state.round,
                _due(state, DeadlineKind.ACCEPTANCE),
                _due(state, DeadlineKind.CLAIM),
                _due(state, DeadlineKind.RETURN),
                _due(state, DeadlineKind.FEEDBACK),
                _due(state, DeadlineKind.FOLLOW_UP),
                promised.due_at if promised else None,
                any(d.provisional for d in state.deadlines.values()),
                [k.value for k in pending],
                supervised("warning"),
                supervised("overdue"),
                state.supervision_count,
                state.unreachable_count,
                last_follow_up,
                uuid.UUID(related[0]) if related[0] else None,
                related[1],
                history[-1].recorded_at,
                state.version,
            )
        ]
