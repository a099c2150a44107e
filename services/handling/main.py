"""`tousu service handling`: investigation, plan, progress, extension, result, feedback."""

from __future__ import annotations

from tousu.shared.domain import commands as c
from tousu.shared.service import ServiceSpec, run_service
from tousu.shared.settings import Settings

SPEC = ServiceSpec(
    name="handling",
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


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
