"""What each event type is called on a timeline, in Chinese and in English."""

from __future__ import annotations

EVENT_LABELS: dict[str, tuple[str, str]] = {
    "ComplaintReceived": ("登记投诉", "Complaint received"),
    "ComplaintAccepted": ("受理", "Accepted"),
    "ComplaintRejected": ("不予受理", "Rejected"),
    "ComplaintRouted": ("转办", "Routed to a department"),
    "CaseClaimed": ("签收", "Claimed"),
    "CaseReturned": ("退单", "Returned"),
    "InvestigationRecorded": ("调查核实", "Investigation recorded"),
    "HandlingPlanProposed": ("提出处理方案", "Handling plan proposed"),
    "ComplainantConsulted": ("征求投诉人意见", "Complainant consulted"),
    "ProgressReported": ("报告进展", "Progress reported"),
    "ExtensionRequested": ("申请延期", "Extension requested"),
    "ExtensionDecided": ("延期审批", "Extension decided"),
    "ComplaintResolved": ("办理完毕", "Resolved"),
    "ResultFeedbackSent": ("反馈结果", "Result fed back"),
    "FollowUpScheduled": ("安排回访", "Follow-up scheduled"),
    "ComplaintFollowedUp": ("回访", "Followed up"),
    "ComplaintReopened": ("重办", "Reopened"),
    "ComplaintClosed": ("办结", "Closed"),
    "SupervisionRaised": ("督办", "Supervision raised"),
    "DuplicateLinked": ("重复件关联", "Duplicate linked"),
    "DeadlineRecalculated": ("期限重算", "Deadline recalculated"),
    "LateEntryRecorded": ("补录", "Late entry"),
}


def event_label(event_type: str, lang: str) -> str:
    # An event type added later without a label still shows, by its name.
    label = EVENT_LABELS.get(event_type)
    if label is None:
        return event_type
    return label[1] if lang.startswith("en") else label[0]


DEADLINE_LABELS: dict[str, tuple[str, str]] = {
    "acceptance": ("受理期限", "acceptance deadline"),
    "claim": ("签收期限", "claim deadline"),
    "return": ("退单期限", "return window"),
    "feedback": ("反馈期限", "feedback deadline"),
    "follow_up": ("回访期限", "follow-up deadline"),
}


def deadline_label(kind: str, lang: str) -> str:
    label = DEADLINE_LABELS.get(kind)
    if label is None:
        return kind
    return label[1] if lang.startswith("en") else label[0]
