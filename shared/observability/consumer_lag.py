"""How far each durable consumer of a service is behind, from JetStream."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from prometheus_client import CollectorRegistry, Gauge

from tousu.shared.consumer import Consumer
from tousu.shared.naming import Naming

# The JetStream context of a connected client; None while not connected.
JetStreamSource = Callable[[], Awaitable[JetStreamContext | None]]


class ConsumerLag:
    """``tousu_consumer_lag_messages``: messages not yet delivered plus those
    delivered and not yet acknowledged, per durable consumer."""

    name = "consumer_lag"

    def __init__(
        self,
        registry: CollectorRegistry,
        jetstream: JetStreamSource,
        durables: Sequence[tuple[str, str]],
    ) -> None:
        self._jetstream = jetstream
        self._durables = list(durables)
        self._gauge = Gauge(
            "tousu_consumer_lag_messages",
            "Messages of a durable consumer not yet delivered or not yet acknowledged "
            "(JetStream num_pending + num_ack_pending)",
            ["stream", "consumer"],
            registry=registry,
        )

    async def refresh(self) -> None:
        if not self._durables:
            return
        js = await self._jetstream()
        if js is None:
            return
        values = {}
        for stream, durable in self._durables:
            try:
                info = await js.consumer_info(stream, durable, timeout=2.0)
            except NotFoundError:
                continue  # not declared yet: the service is still starting
            values[stream, durable] = info.num_pending + info.num_ack_pending
        for (stream, durable), lag in values.items():
            self._gauge.labels(stream=stream, consumer=durable).set(lag)


def consumer_durables(naming: Naming, consumers: Sequence[Consumer]) -> list[tuple[str, str]]:
    """(stream, durable) of each consumer of stored events: its events, and on a
    durable of its own the DLQ replays asked for with `tousu dlq retry`."""
    return [
        pair
        for consumer in consumers
        for pair in (
            (naming.events_stream, consumer.name),
            (naming.dlq_stream, consumer.retry_durable),
        )
    ]
