"""What each event type is called on a timeline, in both languages the gateway speaks."""

from __future__ import annotations

from services.gateway.problems import Lang, Text

EVENT_LABELS: dict[str, Text] = {
    "ComplaintReceived": Text("登记投诉", "Complaint received"),
    "ComplaintAccepted": Text("受理", "Accepted"),
    "ComplaintRejected": Text("不予受理", "Rejected"),
    "ComplaintRouted": Text("转办", "Routed to a department"),
    "CaseClaimed": Text("签收", "Claimed"),
    "CaseReturned": Text("退单", "Returned"),
    "InvestigationRecorded": Text("调查核实", "Investigation recorded"),
    "HandlingPlanProposed": Text("提出处理方案", "Handling plan proposed"),
    "ComplainantConsulted": Text("征求投诉人意见", "Complainant consulted"),
    "ProgressReported": Text("报告进展", "Progress reported"),
    "ExtensionRequested": Text("申请延期", "Extension requested"),
    "ExtensionDecided": Text("延期审批", "Extension decided"),
    "ComplaintResolved": Text("办理完毕", "Resolved"),
    "ResultFeedbackSent": Text("反馈结果", "Result fed back"),
    "FollowUpScheduled": Text("安排回访", "Follow-up scheduled"),
    "ComplaintFollowedUp": Text("回访", "Followed up"),
    "ComplaintReopened": Text("重办", "Reopened"),
    "ComplaintClosed": Text("办结", "Closed"),
    "SupervisionRaised": Text("督办", "Supervision raised"),
    "DuplicateLinked": Text("重复件关联", "Duplicate linked"),
    "DeadlineRecalculated": Text("期限重算", "Deadline recalculated"),
}


def event_label(event_type: str, lang: Lang) -> str:
    # An event type added later without a label still shows, by its name.
    label = EVENT_LABELS.get(event_type)
    return label.get(lang) if label else event_type
