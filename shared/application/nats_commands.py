"""Request-reply command endpoints on ``<root>.cmd.<service>.<command>``.

Request: ``{"complaint_id": "<uuid>", "command": {<fields>, "actor": {…},
"occurred_at": "…"}}``. Reply ``{"ok": true, "result": {…}}`` or ``{"ok":
false, "error": {"code", "message", "details"}}``. Replicas of a service share
each subject through a queue group, so each request is executed once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from faststream.nats import NatsBroker
from pydantic import BaseModel, ConfigDict, ValidationError

from tousu.shared.application.executor import CommandExecutor, Outcome
from tousu.shared.application.replies import error, from_exception, ok
from tousu.shared.domain.commands import Command
from tousu.shared.domain.errors import DomainError
from tousu.shared.logs import bound_contextvars, get_logger
from tousu.shared.naming import Naming

log = get_logger(__name__)

# Requests one process handles at once on each subject. nats-py runs a
# subscription's callbacks one after another, so without this a process
# answers one request at a time and a queue forms behind any slow one (a
# submission's argon2 hash, a commit's fsync); replicas already run requests
# concurrently, and the executor resolves two commands to the same complaint.
CONCURRENT_REQUESTS = 16


class CommandRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    complaint_id: uuid.UUID
    command: dict[str, Any]


def outcome_result(outcome: Outcome) -> dict[str, Any]:
    state = outcome.state
    return {
        "complaint_id": str(outcome.complaint_id),
        "tracking_no": state.tracking_no,
        "status": state.status.value if state.status else None,
        "version": state.version,
        "department": state.department,
        "repeated": outcome.repeated,
        "events": [
            {
                "event_id": str(e.event_id),
                "type": e.type,
                "version": e.version,
                "global_position": e.global_position,
            }
            for e in outcome.events
        ],
    }


def register_commands(
    broker: NatsBroker,
    naming: Naming,
    service: str,
    commands: Mapping[str, type[Command]],
    executor: CommandExecutor,
) -> None:
    for name, command_type in commands.items():
        _register(broker, naming.command(service, name), service, command_type, executor)


def _register(
    broker: NatsBroker,
    subject: str,
    service: str,
    command_type: type[Command],
    executor: CommandExecutor,
) -> None:
    @broker.subscriber(
        subject,
        queue=service,
        max_workers=CONCURRENT_REQUESTS,
        title=f"{service} {command_type.name()}",
    )
    async def handle(body: dict[str, Any]) -> dict[str, Any]:
        try:
            request = CommandRequest.model_validate(body)
            command = command_type.model_validate(request.command)
        except ValidationError as exc:
            return from_exception(exc)
        with bound_contextvars(
            complaint_id=str(request.complaint_id),
            command=command_type.name(),
            correlation_id=str(command.correlation_id or ""),
        ):
            try:
                outcome = await executor.execute(request.complaint_id, command)
            except DomainError as exc:
                log.info("command refused", code=exc.code, reason=exc.message)
                return from_exception(exc)
            except Exception:
                log.exception("command failed")
                return error("internal_error", "the command could not be executed")
        return ok(outcome_result(outcome))
