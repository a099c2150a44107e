"""What a service declares: a named consumer, the events it wants, its handler."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

from nats.js.api import DeliverPolicy

from tousu.shared.events import Envelope
from tousu.shared.naming import Naming
from tousu.shared.store import UnitOfWork

Handler = Callable[[Envelope, UnitOfWork], Awaitable[None]]
# Whether an event may call for the handler at all, answered from memory.
Wants = Callable[[Envelope], bool]

_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class Consumer:
    """A durable consumer of stored events.

    ``name`` is the JetStream durable name, shared by all replicas (they split
    the work), and the key of the consumer's tracking rows. Give a handler, or
    subclass and override :meth:`handle`. The handler reads and appends only
    through ``uow``: its appends commit together with the record that this
    event was handled, or not at all. Events fetched together share one
    ``uow`` (group commit), so a handler sees the appends of the events before
    its own in that batch. It may be called more than once for one event (a
    retry after an error or a concurrency conflict, or after another event of
    its batch failed and the batch was rolled back), so it must decide from
    what it reads, not from what it did last time.

    With neither ``subjects`` nor ``event_types`` the consumer gets every event.

    ``record_no_ops=False``: an event whose handler wrote nothing gets no
    tracking row, so a batch of such events commits a read-only transaction
    (no WAL flush). Only for a handler that decides each event from what is
    fixed by the event itself (the history up to it) or whose effects are
    at least once anyway: a redelivery runs it again, and it must do nothing
    again or something harmless.

    ``reads_streams``: the handler reads its event's stream; a batch's
    streams are then read in one query before its handlers run.

    ``wants``: asked before any transaction; an event it turns down is acked
    with no transaction and no tracking row, as an event of another type is.
    Only where the handler would write nothing for such an event (implies
    ``record_no_ops=False``). A ``tousu dlq retry`` replay is not asked.
    """

    def __init__(
        self,
        name: str,
        handler: Handler | None = None,
        *,
        subjects: Sequence[str] = (),
        event_types: Sequence[str] = (),
        deliver_policy: DeliverPolicy = DeliverPolicy.ALL,
        # How long a fetched message waits for its ack before JetStream gives
        # it to another replica: the delay after a consumer process dies
        # holding a batch (30 s, JetStream's own default; a batch of 100
        # takes seconds even on a loaded machine).
        ack_wait: float = 30.0,
        record_no_ops: bool = True,
        reads_streams: bool = False,
        wants: Wants | None = None,
    ) -> None:
        if not _NAME.match(name):
            raise ValueError(f"consumer name {name!r} must match {_NAME.pattern}")
        self.name = name
        self._handler = handler
        self._subjects = tuple(subjects)
        for event_type in event_types:
            if not _NAME.match(event_type):
                raise ValueError(f"event type {event_type!r} is not a valid subject token")
        self._event_types = tuple(event_types)
        self.deliver_policy = deliver_policy
        self.ack_wait = ack_wait
        self.record_no_ops = record_no_ops
        self.reads_streams = reads_streams
        self.wants = wants
        if wants is not None and record_no_ops:
            raise ValueError(f"consumer {name}: wants= needs record_no_ops=False")

    async def handle(self, envelope: Envelope, uow: UnitOfWork) -> None:
        if self._handler is None:
            raise NotImplementedError(f"consumer {self.name}: give a handler or override handle()")
        await self._handler(envelope, uow)

    def filter_subjects(self, naming: Naming) -> list[str]:
        # Any department: a type filter must not lose events when a case moves.
        by_type = [f"{naming.root}.events.*.{t}" for t in self._event_types]
        return [*self._subjects, *by_type] or [naming.all_events]

    @property
    def retry_durable(self) -> str:
        """Durable name of the consumer of this consumer's DLQ replays."""
        return f"{self.name}_dlq_retry"

    def __repr__(self) -> str:
        return f"Consumer({self.name!r})"


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard matching: ``*`` is one token, a final ``>`` one or more."""
    want, got = pattern.split("."), subject.split(".")
    for i, token in enumerate(want):
        if token == ">":
            return len(got) > i
        if i >= len(got) or (token != "*" and token != got[i]):
            return False
    return len(want) == len(got)
