"""What the public sees of a complaint: status, what it is owed and when, the
notices sent to it, and a timeline without staff-only detail.

The timeline is an allow-list: staff names, internal notes, investigation
findings, returns between departments and supervision never show, and an event
type added later stays hidden until someone decides the public may see it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tousu.services.gateway.complaints.reader import Case
from tousu.services.gateway.notices.urls import PDF_EVENTS, public_pdf_url
from tousu.services.gateway.problems import Lang, Text
from tousu.shared.domain.labels import event_label
from tousu.shared.domain.status import Status
from tousu.shared.events import Envelope, decode
from tousu.shared.events import types as ev
from tousu.shared.events.types import Deadline, DeadlineKind

PUBLIC_EVENTS = frozenset(
    {
        "ComplaintReceived",
        "ComplaintAccepted",
        "ComplaintRejected",
        "ComplaintRouted",
        "CaseClaimed",
        "InvestigationRecorded",
        "HandlingPlanProposed",
        "ComplainantConsulted",
        "ProgressReported",
        "ExtensionDecided",
        "ComplaintResolved",
        "ResultFeedbackSent",
        "ComplaintFollowedUp",
        "ComplaintReopened",
        "ComplaintClosed",
        "DuplicateLinked",
        "DeadlineRecalculated",
    }
)

NEXT_STEPS: dict[Status, Text] = {
    Status.RECEIVED: Text(
        "我们将在受理期限内决定是否受理，并告知处理流程和预计时间。",
        "We will decide on acceptance by the acceptance date and tell you the process and timing.",
    ),
    Status.FED_BACK: Text(
        "处理结果已反馈，请告诉我们您是否满意。",
        "The result has been sent to you: please tell us whether you are satisfied.",
    ),
    Status.CLOSED: Text("投诉已办结。", "The complaint is closed."),
    Status.REJECTED: Text(
        "投诉不予受理，原因和建议见告知书。", "The complaint was not accepted: see the notice."
    ),
    Status.MERGED: Text(
        "该投诉与另一件投诉重复，将一并处理。",
        "This complaint duplicates another one and is handled with it.",
    ),
}
IN_PROGRESS = Text(
    "投诉正在处理，我们会在反馈期限前告知结果。",
    "Your complaint is being handled; we will tell you the result by the feedback date.",
)


class Labels(BaseModel):
    zh: str
    en: str


class PublicDeadline(BaseModel):
    due_at: datetime
    working_days: int
    provisional: bool


class PublicDeadlines(BaseModel):
    acceptance_due: PublicDeadline | None
    # The one that counts now: after approved extensions or a re-handling.
    feedback_due: PublicDeadline | None
    # As the acceptance notice promised it, kept as said.
    promised_feedback_due: PublicDeadline | None


class Notice(BaseModel):
    type: str
    label: str
    occurred_at: datetime
    text: str
    # The printable notice (add ?code=), for the kinds that have one.
    pdf_url: str | None = None


class Resolution(BaseModel):
    round: int
    result: str
    basis: str
    improvements: str | None
    # The result feedback (处理结果反馈) as a PDF (add ?code=).
    pdf_url: str | None = None


class PublicEvent(BaseModel):
    type: str
    label: str
    occurred_at: datetime


class PublicCase(BaseModel):
    tracking_no: str
    status: Status
    status_label: str
    status_labels: Labels
    next_steps: str
    round: int
    received_at: datetime | None
    deadlines: PublicDeadlines
    notices: list[Notice]
    # Only results already fed back to the complainant.
    resolutions: list[Resolution]
    awaiting_follow_up: bool
    timeline: list[PublicEvent]


def _deadline(deadline: Deadline | None) -> PublicDeadline | None:
    if deadline is None:
        return None
    return PublicDeadline(
        due_at=deadline.due_at, working_days=deadline.working_days, provisional=deadline.provisional
    )


def _notice_text(data: Any) -> str | None:
    match data:
        case ev.ComplaintAccepted() | ev.ComplaintRejected() | ev.ExtensionDecided():
            return data.notice_text
        case ev.ProgressReported() if data.notify_complainant:
            return data.notice_text or data.progress
        case ev.ResultFeedbackSent():
            return data.notice_text
    return None


def _resolutions(history: list[Envelope], tracking_no: str) -> list[Resolution]:
    resolved: dict[int, ev.ComplaintResolved] = {}
    shown: list[Resolution] = []
    for envelope in history:
        data = decode(envelope)
        if isinstance(data, ev.ComplaintResolved):
            resolved[data.round] = data
        elif isinstance(data, ev.ResultFeedbackSent) and data.round in resolved:
            r = resolved.pop(data.round)
            shown.append(
                Resolution(
                    round=r.round,
                    result=r.result,
                    basis=r.basis,
                    improvements=r.improvements,
                    pdf_url=public_pdf_url(tracking_no, envelope.event_id),
                )
            )
    return shown


def public_case(case: Case, lang: Lang) -> PublicCase:
    s = case.state
    assert s.status is not None and s.tracking_no is not None  # only existing cases are shown
    notices: list[Notice] = []
    for envelope in case.history:
        text = _notice_text(decode(envelope))
        if text:
            notices.append(
                Notice(
                    type=envelope.type,
                    label=event_label(envelope.type, lang),
                    occurred_at=envelope.occurred_at,
                    text=text,
                    pdf_url=public_pdf_url(s.tracking_no, envelope.event_id)
                    if envelope.type in PDF_EVENTS
                    else None,
                )
            )
    timeline = [
        PublicEvent(type=e.type, label=event_label(e.type, lang), occurred_at=e.occurred_at)
        for e in case.history
        if e.type in PUBLIC_EVENTS
        and not (e.type == "ProgressReported" and not _notice_text(decode(e)))
    ]
    return PublicCase(
        tracking_no=s.tracking_no,
        status=s.status,
        status_label=s.status.label(lang),
        status_labels=Labels(zh=s.status.label("zh"), en=s.status.label("en")),
        next_steps=NEXT_STEPS.get(s.status, IN_PROGRESS).get(lang),
        round=s.round,
        received_at=s.received_at,
        deadlines=PublicDeadlines(
            acceptance_due=_deadline(s.deadlines.get(DeadlineKind.ACCEPTANCE)),
            feedback_due=_deadline(s.deadlines.get(DeadlineKind.FEEDBACK)),
            promised_feedback_due=_deadline(s.promised_feedback),
        ),
        notices=notices,
        resolutions=_resolutions(case.history, s.tracking_no),
        awaiting_follow_up=s.status == Status.FED_BACK,
        timeline=timeline,
    )
