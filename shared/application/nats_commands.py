"""Request-reply endpoints on ``<root>.cmd.<service>.<name>``.

A command request: ``{"complaint_id": "<uuid>", "command": {<fields>, "actor":
{…}, "occurred_at": "…"}}``. Reply ``{"ok": true, "result": {…}}`` or ``{"ok":
false, "error": {"code", "message", "details"}}`` (``replies.answer``).
Each request is answered for the sender its ``Tousu-Credential`` header
names (``credentials``); without a valid one the reply is ``unauthenticated``.
Replicas of a service share each subject through a queue group, so each
request is executed once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, TypeVar

from faststream._internal.context.context_type import Context
from faststream.nats import NatsBroker
from faststream.nats.message import NatsMessage
from pydantic import BaseModel, ConfigDict

from tousu.shared.application.catalogue import command_title
from tousu.shared.application.credentials import (
    Admission,
    Unauthenticated,
    command_admission,
    principal_of,
    trusted_only,
)
from tousu.shared.application.executor import CommandExecutor, Outcome
from tousu.shared.application.replies import Request, answer, from_exception
from tousu.shared.domain.commands import Command
from tousu.shared.logs import get_logger
from tousu.shared.naming import Naming

C = TypeVar("C", bound=Command)
log = get_logger("tousu.requests")

# Requests one process handles at once on each subject. nats-py runs a
# subscription's callbacks one after another, so without this a process
# answers one request at a time and a queue forms behind any slow one (a
# submission's argon2 hash, a commit's fsync); replicas already run requests
# concurrently, and the executor resolves two commands to the same complaint.
CONCURRENT_REQUESTS = 16


class _OnTheLoop(Context):
    """faststream's ``Context``, resolved on the event loop: fast_depends runs a
    synchronous ``use`` in a worker thread, a thread hop for every request."""

    async def use(self, /, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        return super().use(**kwargs)


# The message being answered (for its headers), as faststream's NatsMessage annotation.
Message = Annotated[NatsMessage, _OnTheLoop("message")]


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


def command_request(
    service: str,
    command_type: type[C],
    run: Callable[[uuid.UUID, C], Awaitable[Outcome]],
    *,
    failed: str = "the command could not be executed",
    admit: Admission = trusted_only,
) -> Request[tuple[uuid.UUID, C]]:
    """A command request whose command ``run`` carries out (the executor, or a
    service's own way, such as intake's merge across two complaints); ``admit``:
    who may send it (``credentials.command_admission``)."""

    def parse(body: dict[str, Any]) -> tuple[uuid.UUID, C]:
        request = CommandRequest.model_validate(body)
        return request.complaint_id, command_type.model_validate(request.command)

    async def handle(parsed: tuple[uuid.UUID, C]) -> dict[str, Any]:
        return outcome_result(await run(*parsed))

    def context(parsed: tuple[uuid.UUID, C]) -> dict[str, str]:
        complaint_id, command = parsed
        return {
            "complaint_id": str(complaint_id),
            "command": command_type.name(),
            "correlation_id": str(command.correlation_id or ""),
        }

    return Request(
        parse,
        handle,
        failed,
        title=command_title(service, command_type),
        context=context,
        admit=admit,
    )


def register_commands(
    broker: NatsBroker,
    naming: Naming,
    service: str,
    commands: Mapping[str, type[Command]],
    executor: CommandExecutor,
    *,
    key: bytes,
) -> None:
    """Each of ``commands`` executed by ``executor``; ``key``: the credential key."""
    requests = {
        name: command_request(
            service, command_type, executor.execute, admit=command_admission(service, name)
        )
        for name, command_type in commands.items()
    }
    register_requests(broker, naming, service, requests, key=key)


def register_requests(
    broker: NatsBroker,
    naming: Naming,
    service: str,
    requests: Mapping[str, Request[Any]],
    *,
    key: bytes,
) -> None:
    """Each of ``requests``, answered for the sender whose credential ``key`` verifies."""
    for name, request in requests.items():
        _register(broker, naming.command(service, name), service, request, key)


def _register(
    broker: NatsBroker, subject: str, service: str, request: Request[Any], key: bytes
) -> None:
    workers = request.concurrency or CONCURRENT_REQUESTS

    @broker.subscriber(subject, queue=service, max_workers=workers, title=request.title)
    async def handle(body: dict[str, Any], message: Message) -> dict[str, Any]:
        try:
            principal = principal_of(key, message.headers)
        except Unauthenticated as exc:
            log.info("request refused", request=request.title, code=exc.code, reason=exc.message)
            return from_exception(exc)
        return await answer(request, body, principal)
