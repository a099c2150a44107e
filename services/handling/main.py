"""`tousu service handling`: investigation, plan, progress, extension, result, feedback.

This service is a table: what it answers is its catalogue entry
(shared/application/catalogue.py), and every rule of handling is the domain's,
because each deciding service and the staff pages apply the same rules:
the decider (shared/domain/decide.py), the order of the steps
(shared/domain/handling_order.py) and late entries
(shared/domain/late_entries.py)."""

from __future__ import annotations

from tousu.shared.application.catalogue import HANDLING
from tousu.shared.service import ServiceSpec, run_service
from tousu.shared.settings import Settings

SPEC = ServiceSpec.of(HANDLING)


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
