"""A complaint's state, rebuilt from its events by :func:`evolve`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tousu.shared.domain.status import Status
from tousu.shared.events import Envelope, EventData, decode
from tousu.shared.events import types as ev
from tousu.shared.events.types import Channel, Complainant, Deadline, DeadlineKind, Satisfaction

FEEDBACK_OWED = frozenset(
    {
        Status.ACCEPTED,
        Status.ROUTED,
        Status.RETURNED,
        Status.CLAIMED,
        Status.IN_HANDLING,
        Status.EXTENSION_PENDING,
        Status.RESOLVED,
        Status.REOPENED,
    }
)

# The fields an event changes, with their new values.
Changes = dict[str, Any]


@dataclass(frozen=True)
class ComplaintState:
    stream_id: str = ""
    version: int = 0
    status: Status | None = None
    tracking_no: str | None = None
    channel: Channel | None = None
    complainant: Complainant | None = None
    language: str = "zh-CN"
    subject: str | None = None
    category: str | None = None
    subcategory: str | None = None
    service_item: str | None = None
    received_at: datetime | None = None
    accepted_at: datetime | None = None
    last_occurred_at: datetime | None = None
    department: str | None = None
    handler: str | None = None
    returned_by: tuple[str, ...] = ()
    return_count: int = 0
    needs_arbitration: bool = False
    round: int = 1
    deadlines: dict[DeadlineKind, Deadline] = field(default_factory=dict)
    # The instant each current deadline counts from, so that a deadline can be
    # recomputed when the calendar under it changes (DeadlineRecalculated).
    # An approved extension keeps the anchor: its deadline's working_days is
    # the total from that anchor.
    deadline_anchors: dict[DeadlineKind, datetime] = field(default_factory=dict)
    # The feedback date the acceptance notice promised: kept as said, even
    # when later recalculated or extended.
    promised_feedback: Deadline | None = None
    extension_days: int = 0
    pending_extension_days: int = 0
    # The department's reason for the extension it asked for: what the
    # extension notice tells the complainant (the supervisor's comment is not).
    pending_extension_reason: str | None = None
    status_before_extension: Status | None = None
    first_feedback_at: datetime | None = None
    satisfaction: Satisfaction | None = None
    dissatisfied_count: int = 0
    unreachable_count: int = 0
    merged_into: str | None = None
    status_before_merge: Status | None = None
    duplicates: tuple[str, ...] = ()
    supervision_count: int = 0
    follow_up_open: bool = False  # scheduled and not yet made
    # The handling steps of the current round (shared/domain/handling_order.py);
    # a reopening starts them afresh.
    investigated: bool = False
    planned: bool = False
    plan_consulted: bool = False  # the complainant's opinion on the latest plan

    @property
    def pending_deadlines(self) -> list[DeadlineKind]:
        """The deadlines the case still owes: the acceptance decision, the
        claim, the current round's result feedback, the follow-up."""
        owed: list[DeadlineKind] = []
        if self.status == Status.RECEIVED:
            owed.append(DeadlineKind.ACCEPTANCE)
        if self.status == Status.ROUTED:
            owed.append(DeadlineKind.CLAIM)
        if self.status in FEEDBACK_OWED:
            owed.append(DeadlineKind.FEEDBACK)
        if self.status == Status.FED_BACK and self.follow_up_open:
            owed.append(DeadlineKind.FOLLOW_UP)
        return [k for k in owed if k in self.deadlines]

    @property
    def exists(self) -> bool:
        return self.status is not None


def evolve(state: ComplaintState, envelope: Envelope) -> ComplaintState:
    changes = _apply(state, decode(envelope), envelope)
    changes["stream_id"] = envelope.stream_id
    changes["version"] = envelope.version
    changes["last_occurred_at"] = envelope.occurred_at
    return _changed(state, changes)


def _changed(state: ComplaintState, changes: Changes) -> ComplaintState:
    """``replace(state, **changes)``, without running the 40-field ``__init__``.

    Folding is the hot path of every projection rebuild, and ``replace``
    cost about 10 µs an event. The state has no ``__post_init__`` and every
    field is set, so copying the fields and overriding the changed ones
    gives exactly the object ``replace`` would.
    """
    new = object.__new__(ComplaintState)
    fields = new.__dict__
    fields.update(state.__dict__)
    fields.update(changes)
    return new


def replay(envelopes: list[Envelope]) -> ComplaintState:
    state = ComplaintState()
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


def _with_deadline(state: ComplaintState, deadline: Deadline) -> dict[DeadlineKind, Deadline]:
    return {**state.deadlines, deadline.kind: deadline}


def _anchored(
    state: ComplaintState, at: datetime, *kinds: DeadlineKind
) -> dict[DeadlineKind, datetime]:
    return {**state.deadline_anchors, **dict.fromkeys(kinds, at)}


def _apply(s: ComplaintState, data: EventData, env: Envelope) -> Changes:
    """The fields ``data`` changes, with their new values."""
    match data:
        case ev.ComplaintReceived():
            deadlines = {}
            anchors = {}
            if data.acceptance_deadline is not None:
                deadlines[DeadlineKind.ACCEPTANCE] = data.acceptance_deadline
                anchors[DeadlineKind.ACCEPTANCE] = env.occurred_at
            return dict(
                status=Status.RECEIVED,
                tracking_no=data.tracking_no,
                channel=data.channel,
                complainant=data.complainant,
                language=data.language,
                subject=data.subject,
                category=data.category,
                subcategory=data.subcategory,
                service_item=data.service_item,
                received_at=env.occurred_at,
                deadlines=deadlines,
                deadline_anchors=anchors,
            )
        case ev.ComplaintAccepted():
            return dict(
                status=Status.ACCEPTED,
                category=data.category,
                subcategory=data.subcategory,
                service_item=data.service_item or s.service_item,
                accepted_at=env.occurred_at,
                deadlines=_with_deadline(s, data.feedback_deadline),
                deadline_anchors=_anchored(s, env.occurred_at, DeadlineKind.FEEDBACK),
                promised_feedback=data.feedback_deadline,
            )
        case ev.ComplaintRejected():
            return dict(status=Status.REJECTED)
        case ev.ComplaintRouted():
            # The feedback deadline travels with the case unchanged, so its
            # anchor stays the acceptance (or reopening).
            deadlines = _with_deadline(s, data.claim_deadline)
            deadlines[DeadlineKind.FEEDBACK] = data.feedback_deadline
            routed = [DeadlineKind.CLAIM]
            if data.return_deadline is not None:
                deadlines[DeadlineKind.RETURN] = data.return_deadline
                routed.append(DeadlineKind.RETURN)
            return dict(
                status=Status.ROUTED,
                department=data.department,
                handler=None,
                needs_arbitration=False,
                deadlines=deadlines,
                deadline_anchors=_anchored(s, env.occurred_at, *routed),
            )
        case ev.CaseClaimed():
            return dict(status=Status.CLAIMED, handler=data.handler)
        case ev.CaseReturned():
            return dict(
                status=Status.RETURNED,
                department=None,
                handler=None,
                returned_by=(*s.returned_by, data.department),
                return_count=data.return_count,
                needs_arbitration=data.return_count >= 2,
            )
        case (
            ev.InvestigationRecorded()
            | ev.HandlingPlanProposed()
            | ev.ComplainantConsulted()
            | ev.ProgressReported()
        ):
            step = _step(data)
            if s.status == Status.EXTENSION_PENDING:
                return dict(status_before_extension=Status.IN_HANDLING, **step)
            return dict(status=Status.IN_HANDLING, **step)
        case ev.ExtensionRequested():
            return dict(
                status=Status.EXTENSION_PENDING,
                status_before_extension=s.status,
                pending_extension_days=data.working_days,
                pending_extension_reason=data.reason,
            )
        case ev.ExtensionDecided():
            decided: Changes = dict(
                status=s.status_before_extension,
                status_before_extension=None,
                pending_extension_days=0,
                pending_extension_reason=None,
            )
            if data.approved and data.feedback_deadline is not None:
                decided["extension_days"] = s.extension_days + data.working_days
                decided["deadlines"] = _with_deadline(s, data.feedback_deadline)
            return decided
        case ev.ComplaintResolved():
            return dict(status=Status.RESOLVED)
        case ev.ResultFeedbackSent():
            return dict(
                status=Status.FED_BACK,
                first_feedback_at=s.first_feedback_at or env.occurred_at,
            )
        case ev.FollowUpScheduled():
            return dict(
                deadlines=_with_deadline(s, data.due),
                deadline_anchors=_anchored(s, env.occurred_at, data.due.kind),
                follow_up_open=True,
            )
        case ev.ComplaintFollowedUp():
            return dict(
                satisfaction=data.satisfaction,
                # An unreachable complainant is still owed the follow-up.
                follow_up_open=data.satisfaction == Satisfaction.UNREACHABLE,
                dissatisfied_count=s.dissatisfied_count
                + (data.satisfaction == Satisfaction.DISSATISFIED),
                unreachable_count=s.unreachable_count
                + (data.satisfaction == Satisfaction.UNREACHABLE),
            )
        case ev.ComplaintReopened():
            return dict(
                status=Status.REOPENED,
                round=data.round,
                investigated=False,
                planned=False,
                plan_consulted=False,
                extension_days=0,
                deadlines=_with_deadline(s, data.feedback_deadline),
                deadline_anchors=_anchored(s, env.occurred_at, DeadlineKind.FEEDBACK),
            )
        case ev.ComplaintClosed():
            return dict(status=Status.CLOSED)
        case ev.SupervisionRaised():
            return dict(supervision_count=s.supervision_count + 1)
        case ev.DuplicateLinked():
            return _apply_link(s, data, env.stream_id)
        case ev.DeadlineRecalculated():
            return dict(deadlines=_with_deadline(s, data.current))
    return {}


def _step(data: EventData) -> Changes:
    """What a handling step adds to the current round's steps."""
    match data:
        case ev.InvestigationRecorded():
            return dict(investigated=True)
        case ev.HandlingPlanProposed():
            # A new plan has not been put to the complainant yet.
            return dict(planned=True, plan_consulted=False)
        case ev.ComplainantConsulted():
            return dict(plan_consulted=True)
    return {}


def _apply_link(s: ComplaintState, data: ev.DuplicateLinked, stream_id: str) -> Changes:
    this = stream_id.removeprefix("complaint-")
    if data.duplicate_complaint_id == this:
        if data.linked:
            return dict(
                status=Status.MERGED,
                merged_into=data.primary_complaint_id,
                status_before_merge=s.status,
            )
        return dict(status=s.status_before_merge, merged_into=None, status_before_merge=None)
    others = tuple(d for d in s.duplicates if d != data.duplicate_complaint_id)
    return dict(duplicates=(*others, data.duplicate_complaint_id) if data.linked else others)
