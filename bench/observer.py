"""What the pipeline benchmark sees of the relayed events: when each of its
complaints was accepted and routed, and how many events went by when.

It listens on the events subjects with a plain NATS subscription: the relay's
publishes reach it as they reach the stream, without a consumer of its own.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import time

from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from tousu.services.relay.message import STREAM_ID
from tousu.shared.naming import Naming

ACCEPTED = "ComplaintAccepted"
ROUTED = "ComplaintRouted"


class Observer:
    """Complaints in flight (submitted, not yet seen routed), at most ``cap`` at a time."""

    def __init__(self, cap: int) -> None:
        self.submitted_at: dict[str, float] = {}
        self.accepted_at: dict[str, float] = {}
        self.routed_at: dict[str, float] = {}
        self.event_times: list[float] = []  # monotonic, in arrival order
        self._slots = asyncio.Semaphore(cap)
        self._pending: set[str] = set()
        self._cap = cap
        self._sub: Subscription | None = None
        self._routed = asyncio.Event()  # set on every complaint seen routed

    async def start(self, nc: NatsClient, naming: Naming) -> None:
        self._sub = await nc.subscribe(naming.all_events, cb=self._on_event, pending_msgs_limit=-1)

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()

    # -- in flight -----------------------------------------------------------
    def slot_free(self) -> bool:
        return not self._slots.locked()

    async def take_slot(self) -> None:
        await self._slots.acquire()

    def submitted(self, stream_id: str, at: float) -> None:
        """A slot taken for ``stream_id`` (known before or after its events arrive)."""
        self.submitted_at[stream_id] = at
        if stream_id in self.routed_at:
            self._slots.release()
        else:
            self._pending.add(stream_id)

    def failed(self) -> None:
        """A slot taken for a submission that was refused or never answered."""
        self._slots.release()

    @property
    def cap(self) -> int:
        return self._cap

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def wait_for(self, stream_ids: set[str], timeout: float) -> set[str]:
        """Wait until all are routed or ``timeout`` passes; those still unrouted."""
        deadline = time.monotonic() + timeout
        while (left := stream_ids - self.routed_at.keys()) and (
            remaining := deadline - time.monotonic()
        ) > 0:
            self._routed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._routed.wait(), remaining)
        return left

    def events_between(self, start: float, end: float) -> int:
        return bisect.bisect_left(self.event_times, end) - bisect.bisect_left(
            self.event_times, start
        )

    async def _on_event(self, msg: Msg) -> None:
        now = time.monotonic()
        self.event_times.append(now)
        event_type = msg.subject.rsplit(".", 1)[-1]
        if event_type not in (ACCEPTED, ROUTED):
            return
        stream_id = (msg.headers or {}).get(STREAM_ID)
        if stream_id is None:
            return
        seen = self.accepted_at if event_type == ACCEPTED else self.routed_at
        if stream_id in seen:
            return  # a re-route after a return, not ours to time
        seen[stream_id] = now
        if event_type == ROUTED:
            self._routed.set()
        if event_type == ROUTED and stream_id in self._pending:
            self._pending.discard(stream_id)
            self._slots.release()
