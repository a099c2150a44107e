"""`tousu service followup`: the satisfaction follow-up (回访), re-handling, closing,
and the notices to complainants (consumer ``notifier`` and the outbox dispatcher)."""

from __future__ import annotations

from collections.abc import Sequence

from tousu.services.followup.notifier import dispatching, notifier
from tousu.shared.application.catalogue import FOLLOWUP
from tousu.shared.consumer import Consumer
from tousu.shared.service import Runtime, ServiceSpec, run_service
from tousu.shared.settings import Settings


def consumers(runtime: Runtime) -> Sequence[Consumer]:
    return (notifier(runtime.context.render),)


SPEC = ServiceSpec.of(
    FOLLOWUP,
    consumers=consumers,
    lifespan=dispatching,
)


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
