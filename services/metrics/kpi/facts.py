"""The facts about one complaint as they stood at an instant.

KPIs count when things happened (``occurred_at``), not when they were
recorded, so a back-dated event changes the past figures it belongs to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise

from tousu.shared.calendar import TZ
from tousu.shared.domain.imports import is_imported
from tousu.shared.events import Envelope, EventData, decode
from tousu.shared.events import types as ev
from tousu.shared.events.types import Channel, DeadlineKind, Satisfaction


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
    # Late entries (补录) among its events: facts recorded later than they
    # happened (LateEntryRecorded), so figures resting on them can be told.
    late_entries: int
    # Files (evidence) named by any of its steps: the citizen's, the
    # operator's scan, the handler's, a 督办's (docs/attachments.md).
    files: int
    overdue_now: bool
    # Registered by `tousu import` from an earlier system (docs/import.md).
    imported: bool = False

    @property
    def fed_back(self) -> bool:
        return self.first_feedback_at is not None


class _Fold:
    """One complaint's facts, folded event by event in version order."""

    def __init__(self) -> None:
        self.received: ev.ComplaintReceived | None = None
        self.received_at: datetime | None = None
        self.month = ""
        self.complaint_id = ""
        self.category: str | None = None
        self.department: str | None = None
        self.handler: str | None = None
        self.acceptance_due: datetime | None = None
        self.decided_at: datetime | None = None
        self.accepted_at: datetime | None = None
        self.rejected = False
        self.first_due: datetime | None = None
        self.current_due: datetime | None = None
        self.first_feedback_at: datetime | None = None
        self.round = 1
        self.last_fed_round = 0
        self.closed = False
        self.satisfaction: Satisfaction | None = None
        self.reopen_count = 0
        self.late_entries = 0
        self.files = 0
        self.imported = False

    def apply(self, envelope: Envelope, data: EventData) -> None:
        self.files += len(getattr(data, "attachments", ()))
        match data:
            case ev.ComplaintReceived():
                self.received, self.received_at = data, envelope.occurred_at
                self.month = envelope.occurred_at.astimezone(TZ).strftime("%Y-%m")
                self.complaint_id = envelope.stream_id.removeprefix("complaint-")
                self.category = data.category
                if data.acceptance_deadline is not None:
                    self.acceptance_due = data.acceptance_deadline.due_at
            case ev.ComplaintAccepted():
                self.decided_at = self.decided_at or envelope.occurred_at
                self.accepted_at = self.accepted_at or envelope.occurred_at
                self.category = data.category
                self.first_due = self.current_due = data.feedback_deadline.due_at
            case ev.ComplaintRejected():
                self.decided_at = self.decided_at or envelope.occurred_at
                self.rejected = True
            case ev.ComplaintRouted():
                self.department, self.handler = data.department, None
                self._feedback_due(data.feedback_deadline.due_at)
            case ev.CaseClaimed():
                self.department, self.handler = data.department, data.handler
            case ev.CaseReturned():
                # Waiting to be routed again: no department answers for it.
                self.department, self.handler = None, None
            case ev.ExtensionDecided() if data.approved and data.feedback_deadline is not None:
                self._feedback_due(data.feedback_deadline.due_at)
            case ev.DeadlineRecalculated() if data.current.kind == DeadlineKind.FEEDBACK:
                self._feedback_due(data.current.due_at)
            case ev.DeadlineRecalculated() if data.current.kind == DeadlineKind.ACCEPTANCE:
                self.acceptance_due = data.current.due_at
            case ev.ResultFeedbackSent():
                if data.round == 1 and self.first_feedback_at is None:
                    self.first_feedback_at = envelope.occurred_at
                self.last_fed_round = max(self.last_fed_round, data.round)
            case ev.ComplaintFollowedUp() if data.satisfaction != Satisfaction.UNREACHABLE:
                self.satisfaction = data.satisfaction
            case ev.ComplaintReopened():
                self.round = data.round
                self.current_due = data.feedback_deadline.due_at
                self.reopen_count += 1
                self.closed = False
            case ev.ComplaintClosed():
                self.closed = True
            case ev.LateEntryRecorded():
                self.late_entries += 1
                if is_imported(data) and "ComplaintReceived" in data.events:
                    self.imported = True
            case _:
                pass

    def _feedback_due(self, due: datetime) -> None:
        self.current_due = due
        if self.round == 1:
            self.first_due = due

    def picture(self) -> Picture | None:
        """Every fact but ``overdue_now``, in :class:`ComplaintFacts`' field
        order; None if not received yet. A cheap tuple: a complaint's
        history is mostly events that change no fact."""
        if self.received is None or self.received_at is None:
            return None
        return (
            self.complaint_id,
            self.received_at,
            self.received.channel,
            self.category,
            self.department,
            self.handler,
            self.month,
            self.acceptance_due,
            self.decided_at,
            self.accepted_at is not None,
            self.rejected,
            self.accepted_at,
            self.first_due,
            self.current_due,
            self.first_feedback_at,
            self.round,
            self.last_fed_round >= self.round,
            0 < self.last_fed_round < self.round,
            self.closed,
            self.satisfaction,
            self.reopen_count,
            self.late_entries,
            self.files,
            self.imported,
        )

    def facts(self, as_of: datetime) -> ComplaintFacts | None:
        picture = self.picture()
        return None if picture is None else _facts(picture, as_of)


# ComplaintFacts' fields but overdue_now (imported last), as _Fold.picture gives them.
Picture = tuple[
    str,
    datetime,
    Channel,
    str | None,
    str | None,
    str | None,
    str,
    datetime | None,
    datetime | None,
    bool,
    bool,
    datetime | None,
    datetime | None,
    datetime | None,
    datetime | None,
    int,
    bool,
    bool,
    bool,
    Satisfaction | None,
    int,
    int,
    int,
    bool,
]


def _facts(picture: Picture, as_of: datetime) -> ComplaintFacts:
    facts = ComplaintFacts(*picture[:-1], overdue_now=False, imported=picture[-1])
    overdue = (
        facts.decided_at is None
        and facts.acceptance_due is not None
        and facts.acceptance_due < as_of
    ) or (
        facts.accepted
        and not facts.latest_round_fed_back
        and facts.current_feedback_due is not None
        and facts.current_feedback_due < as_of
    )
    return replace(facts, overdue_now=True) if overdue else facts


def _decoded(envelopes: Sequence[Envelope]) -> list[tuple[Envelope, EventData]]:
    return [(e, decode(e)) for e in envelopes]


def _fold(events: Iterable[tuple[Envelope, EventData]], as_of: datetime) -> _Fold:
    fold = _Fold()
    for envelope, data in events:
        # Not a break: events are in version order, but a back-dated one may
        # follow a later one.
        if envelope.occurred_at <= as_of:
            fold.apply(envelope, data)
    return fold


def complaint_facts(envelopes: Sequence[Envelope], as_of: datetime) -> ComplaintFacts | None:
    """Fold one complaint's events up to ``as_of``; None if not received by then.

    ``envelopes`` are one stream's events in version order.
    """
    return _fold(_decoded(envelopes), as_of).facts(as_of)


def fact_intervals(envelopes: Sequence[Envelope]) -> list[tuple[datetime, ComplaintFacts]]:
    """Every distinct picture of one complaint's facts and the instant it begins.

    The facts as of T are those of the last interval beginning at or before
    T, so a projection can answer "as of any instant" from these rows. The
    ``overdue_now`` of each picture is as of its beginning only: whether a
    deadline has passed depends on T and is left to the query.
    """
    events = _decoded(envelopes)
    instants = sorted({e.occurred_at for e, _ in events})
    pictures: list[tuple[datetime, Picture]] = []
    in_order = all(a[0].occurred_at <= b[0].occurred_at for a, b in pairwise(events))
    fold = _Fold()
    i = 0
    for instant in instants:
        if in_order:
            # The usual case: one pass, each picture a prefix of the history.
            while i < len(events) and events[i][0].occurred_at <= instant:
                fold.apply(*events[i])
                i += 1
            picture = fold.picture()
        else:
            picture = _fold(events, instant).picture()
        # A picture equal to the last but for overdue_now is the same one.
        if picture is None or (pictures and pictures[-1][1] == picture):
            continue
        pictures.append((instant, picture))
    return [(instant, _facts(picture, instant)) for instant, picture in pictures]
