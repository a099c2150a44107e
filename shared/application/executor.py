"""Execute a command against one complaint: load, replay, decide, append.

A concurrent append to the same complaint makes the store refuse ours; then we
load again and decide again, so nobody's update is lost. A resent command (same
``command_id``) finds its events stored already and gets the same answer again.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from tousu.shared.attachments.files import Attachments
from tousu.shared.attachments.presence import with_attachments, without_attachments
from tousu.shared.domain.commands import Attaching, Command
from tousu.shared.domain.complaint import ComplaintState, DecisionContext, decide, evolve, replay
from tousu.shared.events import Envelope, complaint_stream
from tousu.shared.store import ConcurrencyConflict, EventStore, UnitOfWork

ContextFactory = Callable[[], DecisionContext]
# Runs inside the transaction after the append (e.g. an outbox write).
AfterAppend = Callable[[UnitOfWork, ComplaintState, list[Envelope]], Awaitable[None]]


@dataclass(frozen=True)
class Outcome:
    complaint_id: uuid.UUID
    state: ComplaintState
    events: list[Envelope]
    repeated: bool = False  # the command had been executed before: nothing new appended


class CommandExecutor:
    def __init__(
        self,
        store: EventStore,
        context: ContextFactory,
        *,
        after_append: Sequence[AfterAppend] = (),
        attempts: int = 5,
        attachments: Attachments | None = None,
    ) -> None:
        self._store = store
        self._context = context
        # Where the files a command names must be stored; without it, a
        # command naming files is refused (no way in takes files here yet).
        self._attachments = attachments
        self._after_append = list(after_append)
        self._attempts = attempts

    async def execute(self, complaint_id: uuid.UUID, command: Command) -> Outcome:
        for attempt in range(self._attempts):
            try:
                async with self._store.unit_of_work() as uow:
                    return await self.execute_in(uow, complaint_id, command)
            except ConcurrencyConflict:
                if attempt == self._attempts - 1:
                    raise
        raise AssertionError("unreachable")

    async def execute_in(
        self,
        uow: UnitOfWork,
        complaint_id: uuid.UUID,
        command: Command,
        *,
        history: list[Envelope] | None = None,
    ) -> Outcome:
        """Execute within ``uow`` (several complaints in one transaction, e.g. a merge).

        ``history``: the complaint's stream as read in ``uow`` already, to save
        reading it again; the append still refuses if the stream has moved.
        """
        stream_id = complaint_stream(complaint_id)
        if history is None:
            history = await uow.read_stream(stream_id)
        state = replay(history)
        if command.command_id is not None:
            done = _earlier_result(history, command.command_id)
            if done:
                return Outcome(complaint_id, state, done, repeated=True)
        new = decide(state, command, await self._decision_context(command))
        stored = await uow.append(stream_id, state.version, new)
        for envelope in stored:
            state = evolve(state, envelope)
        for hook in self._after_append:
            await hook(uow, state, stored)
        return Outcome(complaint_id, state, stored)

    async def _decision_context(self, command: Command) -> DecisionContext:
        ctx = self._context()
        if not (isinstance(command, Attaching) and command.attachments):
            return ctx
        if self._attachments is None:
            return without_attachments(ctx)
        # The store is asked before deciding, for just the files named.
        return await with_attachments(ctx, command, self._attachments)

    async def load(self, complaint_id: uuid.UUID) -> ComplaintState:
        return replay(await self.history(complaint_id))

    async def history(self, complaint_id: uuid.UUID) -> list[Envelope]:
        """The complaint's stream, for a caller that will append on top of it
        (``execute_in(history=...)``) as well as look at its state."""
        return await self._store.read_stream(complaint_stream(complaint_id))


def _earlier_result(history: list[Envelope], command_id: uuid.UUID) -> list[Envelope]:
    first = uuid.uuid5(command_id, "0")
    for i, envelope in enumerate(history):
        if envelope.event_id == first:
            ids = {uuid.uuid5(command_id, str(k)) for k in range(len(history) - i)}
            return [e for e in history[i:] if e.event_id in ids]
    return []
