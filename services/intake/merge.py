"""`<root>.cmd.intake.merge`: link a duplicate complaint to its primary (重复件), or undo it.

The link is recorded on both streams in one transaction, so neither complaint
ever names the other without the other naming it back. The request is an
ordinary command request (``complaint_id`` = the duplicate, ``command`` = a
``LinkDuplicate``) and the reply is the duplicate's result.
"""

from __future__ import annotations

import uuid
from typing import Any

from tousu.shared.application.executor import CommandExecutor, Outcome
from tousu.shared.application.nats_commands import command_request
from tousu.shared.application.replies import Request
from tousu.shared.domain.commands import LinkDuplicate
from tousu.shared.domain.errors import InvalidCommand, NotFound
from tousu.shared.store import ConcurrencyConflict
from tousu.shared.store.postgres import PostgresEventStore

ATTEMPTS = 5


def _uuid(field: str, text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise InvalidCommand(field, "not a complaint id (UUID)") from None


def _on_primary(command: LinkDuplicate, caused_by: uuid.UUID | None) -> LinkDuplicate:
    # Event ids derive from the command id: the primary's events need their own.
    command_id = uuid.uuid5(command.command_id, "primary") if command.command_id else None
    return command.model_copy(update={"command_id": command_id, "causation_id": caused_by})


async def link(
    store: PostgresEventStore, executor: CommandExecutor, command: LinkDuplicate
) -> Outcome:
    """Decide the link on the duplicate's stream, then on the primary's, in one transaction."""
    duplicate = _uuid("duplicate_complaint_id", command.duplicate_complaint_id)
    primary = _uuid("primary_complaint_id", command.primary_complaint_id)
    # Canonical ids: the decider compares them with the stream ids as text.
    command = command.model_copy(
        update={"duplicate_complaint_id": str(duplicate), "primary_complaint_id": str(primary)}
    )
    for attempt in range(ATTEMPTS):
        try:
            async with store.unit_of_work() as uow:
                outcome = await executor.execute_in(uow, duplicate, command)
                caused_by = outcome.events[0].event_id if outcome.events else None
                try:
                    await executor.execute_in(uow, primary, _on_primary(command, caused_by))
                except NotFound:
                    # The complaint asked about exists; what it names does not.
                    # Raised inside the transaction: the duplicate's side is
                    # rolled back with it.
                    raise InvalidCommand(
                        "primary_complaint_id", f"no complaint {primary} to merge into"
                    ) from None
                return outcome
        except ConcurrencyConflict:
            if attempt == ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def request(store: PostgresEventStore, executor: CommandExecutor) -> Request[Any]:
    """``<root>.cmd.intake.merge``: a command request about the duplicate."""

    async def merge(complaint_id: uuid.UUID, command: LinkDuplicate) -> Outcome:
        if _uuid("duplicate_complaint_id", command.duplicate_complaint_id) != complaint_id:
            raise InvalidCommand("duplicate_complaint_id", "the request is not about the duplicate")
        return await link(store, executor, command)

    return command_request("intake", LinkDuplicate, merge, failed="the merge could not be executed")
