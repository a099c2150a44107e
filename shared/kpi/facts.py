"""The facts about one complaint as they stood at an instant.

KPIs count when things happened (``occurred_at``), not when they were
recorded, so a back-dated event changes the past figures it belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from shared.calendar import TZ
from shared.events import Envelope, decode
from shared.events import types as ev
from shared.events.types import Channel, DeadlineKind, Satisfaction


@dataclass(frozen=True)
class ComplaintFacts:
    complaint_id: str
    received_at: datetime
    channel: Channel
    category: str | None
    department: str | None
    handler: str | None
    month: str  # of received_at in Asia/Shanghai, 'YYYY-MM'
    acceptance_due: datetime | None
    decided_at: datetime | None
    accepted: bool
    rejected: bool
    accepted_at: datetime | None
    # 及时率 judges the first answer against the first round's deadline
    # (acceptance's plus approved extensions); later rounds have their own.
    first_feedback_due: datetime | None
    current_feedback_due: datetime | None
    first_feedback_at: datetime | None
    round: int
    latest_round_fed_back: bool
    reopened_after_feedback: bool
    closed: bool
    satisfaction: Satisfaction | None  # latest follow-up other than unreachable
    reopen_count: int
    overdue_now: bool

    @property
    def fed_back(self) -> bool:
        return self.first_feedback_at is not None


def complaint_facts(envelopes: Sequence[Envelope], as_of: datetime) -> ComplaintFacts | None:
    """Fold one complaint's events up to ``as_of``; None if not received by then.

    ``envelopes`` are one stream's events in version order.
    """
    received: ev.ComplaintReceived | None = None
    received_at: datetime | None = None
    complaint_id = ""
    category: str | None = None
    department: str | None = None
    handler: str | None = None
    acceptance_due: datetime | None = None
    decided_at: datetime | None = None
    accepted_at: datetime | None = None
    rejected = False
    first_due: datetime | None = None
    current_due: datetime | None = None
    first_feedback_at: datetime | None = None
    round_ = 1
    last_fed_round = 0
    closed = False
    satisfaction: Satisfaction | None = None
    reopen_count = 0

    for envelope in envelopes:
        if envelope.occurred_at > as_of:
            # Not a break: events are in version order, but a back-dated one
            # may follow a later one.
            continue
        data = decode(envelope)
        match data:
            case ev.ComplaintReceived():
                received, received_at = data, envelope.occurred_at
                complaint_id = envelope.stream_id.removeprefix("complaint-")
                category = data.category
                if data.acceptance_deadline is not None:
                    acceptance_due = data.acceptance_deadline.due_at
            case ev.ComplaintAccepted():
                decided_at = decided_at or envelope.occurred_at
                accepted_at = accepted_at or envelope.occurred_at
                category = data.category
                first_due = current_due = data.feedback_deadline.due_at
            case ev.ComplaintRejected():
                decided_at = decided_at or envelope.occurred_at
                rejected = True
            case ev.ComplaintRouted():
                department, handler = data.department, None
                current_due = data.feedback_deadline.due_at
                if round_ == 1:
                    first_due = current_due
            case ev.CaseClaimed():
                department, handler = data.department, data.handler
            case ev.CaseReturned():
                # Waiting to be routed again: no department answers for it.
                department, handler = None, None
            case ev.ExtensionDecided() if data.approved and data.feedback_deadline is not None:
                current_due = data.feedback_deadline.due_at
                if round_ == 1:
                    first_due = current_due
            case ev.DeadlineRecalculated() if data.current.kind == DeadlineKind.FEEDBACK:
                current_due = data.current.due_at
                if round_ == 1:
                    first_due = current_due
            case ev.DeadlineRecalculated() if data.current.kind == DeadlineKind.ACCEPTANCE:
                acceptance_due = data.current.due_at
            case ev.ResultFeedbackSent():
                if data.round == 1 and first_feedback_at is None:
                    first_feedback_at = envelope.occurred_at
                last_fed_round = max(last_fed_round, data.round)
            case ev.ComplaintFollowedUp() if data.satisfaction != Satisfaction.UNREACHABLE:
                satisfaction = data.satisfaction
            case ev.ComplaintReopened():
                round_ = data.round
                current_due = data.feedback_deadline.due_at
                reopen_count += 1
                closed = False
            case ev.ComplaintClosed():
                closed = True
            case _:
                pass

    if received is None or received_at is None:
        return None
    accepted = accepted_at is not None
    latest_fed = last_fed_round >= round_
    overdue = (decided_at is None and acceptance_due is not None and acceptance_due < as_of) or (
        accepted and not latest_fed and current_due is not None and current_due < as_of
    )
    return ComplaintFacts(
        complaint_id=complaint_id,
        received_at=received_at,
        channel=received.channel,
        category=category,
        department=department,
        handler=handler,
        month=received_at.astimezone(TZ).strftime("%Y-%m"),
        acceptance_due=acceptance_due,
        decided_at=decided_at,
        accepted=accepted,
        rejected=rejected,
        accepted_at=accepted_at,
        first_feedback_due=first_due,
        current_feedback_due=current_due,
        first_feedback_at=first_feedback_at,
        round=round_,
        latest_round_fed_back=latest_fed,
        reopened_after_feedback=0 < last_fed_round < round_,
        closed=closed,
        satisfaction=satisfaction,
        reopen_count=reopen_count,
        overdue_now=overdue,
    )
