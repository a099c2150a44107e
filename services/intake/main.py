"""`tousu service intake`: submissions from every channel, acceptance (受理) or
rejection, duplicates."""

from __future__ import annotations

from tousu.services.intake import endpoints, merge
from tousu.services.intake.intake import Intake
from tousu.shared.application.context_source import ContextSource
from tousu.shared.domain import commands as c
from tousu.shared.keys import access_code_key
from tousu.shared.service import Runtime, ServiceSpec, run_service
from tousu.shared.settings import Settings


def _extra(runtime: Runtime) -> None:
    intake = Intake(
        runtime.store,
        runtime.executor,
        access_code_key=access_code_key(runtime.settings),
        auto_accept=runtime.settings.auto_accept,
        group_commit=runtime.settings.group_commit,
        registry=runtime.registry,
        render=ContextSource.for_settings(runtime.settings).render,
    )
    endpoints.register(runtime.broker, runtime.settings, intake)
    merge.register(runtime.broker, runtime.settings, runtime.store, runtime.executor)


SPEC = ServiceSpec(
    name="intake",
    commands={"accept": c.AcceptComplaint, "reject": c.RejectComplaint},
    extra=_extra,
    durables=lambda naming: [(naming.intake_stream, endpoints.SUBMISSIONS_DURABLE)],
)


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
