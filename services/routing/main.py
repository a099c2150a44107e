"""`tousu service routing`: dispatch to departments; claim (签收) and return (退单).

Besides the commands, consumer ``routing`` routes accepted and returned cases
by the rules in ``services/routing/data/rules.yaml`` (or ``TOUSU_ROUTING_RULES``),
unless ``TOUSU_AUTO_ROUTE`` is off.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from tousu.services.routing import RuleSet, load_rules
from tousu.services.routing.auto import TRIGGERS, next_command
from tousu.services.routing.known import register_departments
from tousu.shared.application.catalogue import ROUTING
from tousu.shared.consumer import Consumer
from tousu.shared.domain import commands as c
from tousu.shared.events import Envelope
from tousu.shared.events.envelope import STREAM_PREFIX
from tousu.shared.logs import get_logger
from tousu.shared.service import Runtime, ServiceSpec, run_service
from tousu.shared.settings import Settings
from tousu.shared.store import UnitOfWork

log = get_logger("tousu.routing")
(AUTO_ROUTING,) = ROUTING.consumers


def auto_routing(runtime: Runtime, rules: RuleSet) -> Consumer:
    async def handle(envelope: Envelope, uow: UnitOfWork) -> None:
        history = await uow.read_stream(envelope.stream_id)
        command = next_command(history, envelope, rules)
        if command is None:
            return
        complaint_id = uuid.UUID(envelope.stream_id.removeprefix(STREAM_PREFIX))
        # Decided on the history we read: had the stream moved since, the
        # append is refused (ConcurrencyConflict) and the consumer calls us
        # again on the stream as it is now.
        await runtime.executor.execute_in(uow, complaint_id, command, history=history)
        if isinstance(command, c.RouteComplaint):
            log.info("routed", department=command.department, rule_id=command.rule_id)
        else:
            log.warning("no department left to route to", kind=command.kind)

    return Consumer(AUTO_ROUTING.name, handle, event_types=TRIGGERS, reads_streams=True)


def consumers(runtime: Runtime) -> Sequence[Consumer]:
    config = runtime.settings.routing
    if not AUTO_ROUTING.enabled(runtime.settings):
        log.info("automatic routing is off (TOUSU_AUTO_ROUTE)")
        return ()
    # A bad rules file stops the service at start, not at the first case.
    rules = load_rules(config.routing_rules, departments=register_departments())
    log.info("routing rules loaded", version=rules.version, rules=len(rules.rules))
    return (auto_routing(runtime, rules),)


SPEC = ServiceSpec.of(
    ROUTING,
    consumers=consumers,
)


async def run(settings: Settings) -> None:
    await run_service(settings, SPEC)
