"""What each NATS service answers and consumes: data, not handlers.

Per service: the commands it executes and the other requests it answers (on
``<root>.cmd.<service>.<name>``), its inputs (durable consumers of what
channels submit) and its consumers of stored events, each with its subject
and payload model. A service's ``main.py`` builds its ``ServiceSpec`` from its
entry, adding the handlers (``ServiceSpec.of``), and the gateway's
``/asyncapi`` describes every service from this catalogue without importing
any of them (``tousu.shared.service.described``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel

from tousu.shared.application.case_read import CaseFacts, CaseRequest
from tousu.shared.application.improvement_close import (
    CloseImprovementRequest,
    ImprovementClosed,
)
from tousu.shared.application.inspection import DrawResult, ReviewResult
from tousu.shared.application.results import SubmitResult
from tousu.shared.application.status_read import StatusRequest, StatusResult
from tousu.shared.domain import commands as c
from tousu.shared.domain.inspection import DrawInspection, ReviewInspection
from tousu.shared.events import types as ev
from tousu.shared.intake.submission import Submission, SubmitRequest
from tousu.shared.naming import Naming
from tousu.shared.settings import Settings


def command_title(service: str, command_type: type[c.Command]) -> str:
    """A command request's name in the AsyncAPI document and the logs."""
    return f"{service} {command_type.name()}"


@dataclass(frozen=True)
class RequestEntry:
    """A request other than a plain command, answered on ``<root>.cmd.<service>.<name>``."""

    # Its name in the AsyncAPI document and the logs.
    title: str
    # What the request carries: the body, or a command request's command.
    payload: type[BaseModel]
    # What its ``{"ok": true}`` reply's ``result`` is (the published schemas);
    # None: a command request's (``results.CommandOutcome``), or not described.
    result: type[BaseModel] | None = None


@dataclass(frozen=True)
class InputEntry:
    """A durable consumer of raw messages (``tousu.shared.consumer.inputs.Input``)."""

    # The JetStream durable, shared by the replicas, and its DLQ subject.
    name: str
    stream: Callable[[Naming], str]
    subject: Callable[[Naming], str]
    title: str
    payload: type[BaseModel]


def _always(_settings: Settings) -> bool:
    return True


@dataclass(frozen=True)
class ConsumerEntry:
    """A durable consumer of stored events, by type."""

    name: str
    event_types: tuple[str, ...]
    # Whether the service runs it under these settings.
    enabled: Callable[[Settings], bool] = _always


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    # Executed by the service's command executor.
    commands: Mapping[str, type[c.Command]] = field(default_factory=dict)
    requests: Mapping[str, RequestEntry] = field(default_factory=dict)
    inputs: tuple[InputEntry, ...] = ()
    consumers: tuple[ConsumerEntry, ...] = ()


INTAKE = ServiceEntry(
    "intake",
    commands={"accept": c.AcceptComplaint, "reject": c.RejectComplaint},
    requests={
        "submit": RequestEntry("intake submit", SubmitRequest, result=SubmitResult),
        # A command request run by intake itself, across two complaints.
        "merge": RequestEntry(command_title("intake", c.LinkDuplicate), c.LinkDuplicate),
    },
    inputs=(
        InputEntry(
            "intake-submissions",
            stream=lambda naming: naming.intake_stream,
            subject=lambda naming: naming.all_intake,
            title="intake channel submissions",
            payload=Submission,
        ),
    ),
)

ROUTING = ServiceEntry(
    "routing",
    commands={"route": c.RouteComplaint, "claim": c.ClaimCase, "return": c.ReturnCase},
    consumers=(
        ConsumerEntry(
            "routing",
            (ev.ComplaintAccepted.event_type(), ev.CaseReturned.event_type()),
            # Automatic routing, unless TOUSU_AUTO_ROUTE is off.
            enabled=lambda settings: settings.routing.auto_route,
        ),
    ),
)

HANDLING = ServiceEntry(
    "handling",
    commands={
        "investigation": c.RecordInvestigation,
        "plan": c.ProposePlan,
        "consultation": c.RecordConsultation,
        "progress": c.ReportProgress,
        "extension": c.RequestExtension,
        "extension-decision": c.DecideExtension,
        "resolve": c.ResolveComplaint,
        "feedback": c.SendFeedback,
    },
)

FOLLOWUP = ServiceEntry(
    "followup",
    commands={"follow-up": c.RecordFollowUp, "reopen": c.ReopenComplaint},
    consumers=(
        # The notices to complainants, on the events that owe one.
        ConsumerEntry(
            "notifier",
            (
                "ComplaintAccepted",
                "ComplaintRejected",
                "ExtensionDecided",
                "ProgressReported",
                "ResultFeedbackSent",
                "FollowUpScheduled",
            ),
        ),
        # Department webhooks: the events of a department's cases, for its
        # own system (services/followup/webhooks/payload.py, docs/webhooks.md).
        ConsumerEntry(
            "webhooks",
            (
                "ComplaintRouted",
                "CaseClaimed",
                "CaseReturned",
                "ExtensionDecided",
                "SupervisionRaised",
                "DeadlineRecalculated",
                "ComplaintReopened",
                "ComplaintClosed",
            ),
        ),
    ),
)

METRICS = ServiceEntry(
    "metrics",
    commands={"supervise": c.RaiseSupervision, "recalculate-deadlines": c.RecalculateDeadlines},
    requests={
        # One case for a department's own system (its own cases only).
        "case": RequestEntry("metrics case", CaseRequest, result=CaseFacts),
        # Where a complaint stands, for the channel that filed it (WeChat's 查询).
        "status": RequestEntry("metrics status", StatusRequest, result=StatusResult),
        # The owning department closes an improvement item (整改跟踪) with its
        # evidence; a department's system closes its own department's.
        "improvement-close": RequestEntry(
            "metrics improvement-close", CloseImprovementRequest, result=ImprovementClosed
        ),
        # The quality inspection (质量检查/抽查): a month's sample, drawn once,
        # and a reviewer's scores of one sampled case (trusted senders only).
        "inspection-draw": RequestEntry(
            "metrics inspection-draw", DrawInspection, result=DrawResult
        ),
        "inspection-review": RequestEntry(
            "metrics inspection-review", ReviewInspection, result=ReviewResult
        ),
    },
    consumers=(
        # A result feedback's 改进措施, one improvement item each
        # (services/metrics/improvements/opening.py).
        ConsumerEntry("improvements", ("ResultFeedbackSent",)),
    ),
)

CATALOGUE: Mapping[str, ServiceEntry] = {
    s.name: s for s in (INTAKE, ROUTING, HANDLING, FOLLOWUP, METRICS)
}
