"""`tousu service intake`: submissions from every channel, acceptance (受理) or
rejection, duplicates."""

from __future__ import annotations

from tousu.services.intake import endpoints, merge
from tousu.services.intake.intake import Intake
from tousu.shared.application.catalogue import INTAKE
from tousu.shared.keys import access_code_key
from tousu.shared.service import Runtime, ServiceSpec, run_service
from tousu.shared.settings import Settings


def desk(runtime: Runtime) -> Intake:
    """The one desk of the process: requests and channels share its group commit."""
    return Intake(
        runtime.store,
        runtime.executor,
        access_code_key=access_code_key(runtime.settings),
        auto_accept=runtime.settings.auto_accept,
        group_commit=runtime.settings.group_commit,
        registry=runtime.registry,
        render=runtime.context.render,
    )


SPEC = ServiceSpec.of(
    INTAKE,
    requests=lambda runtime: {
        "submit": endpoints.submit(runtime.part(desk)),
        "merge": merge.request(runtime.store, runtime.executor),
    },
    inputs=lambda runtime: [endpoints.channel_submissions(runtime.part(desk), runtime.settings)],
)


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
