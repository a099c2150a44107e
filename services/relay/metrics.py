"""The relay's figures: lag behind the store, events published, leadership, quarantine."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import asyncpg
from prometheus_client import CollectorRegistry, Gauge
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tousu.services.relay import quarantine
from tousu.services.relay.lag import pending_events
from tousu.services.relay.publisher import CHECKPOINT, RelayStats


class RelayLag:
    """``tousu_relay_lag_events``: events committed to the store that the
    relay has not yet seen acknowledged by JetStream.

    Read from the store (the head against the relay's checkpoint), so any
    relay process, leader or standby, reports the same figure.
    """

    name = "relay_lag"

    def __init__(
        self, registry: CollectorRegistry, pool: asyncpg.Pool, checkpoint: str = CHECKPOINT
    ) -> None:
        self._pool = pool
        self._checkpoint = checkpoint
        self._gauge = Gauge(
            "tousu_relay_lag_events",
            "Events committed to the event store and not yet published to JetStream",
            registry=registry,
        )

    async def refresh(self) -> None:
        after = await self._pool.fetchval(
            "SELECT position FROM checkpoints WHERE name = $1", self._checkpoint
        )
        self._gauge.set(await pending_events(self._pool, int(after or 0)))


class RelayQuarantine:
    """``tousu_relay_quarantined_events``: events set aside because they could
    not be published, and not published since (held or released).

    Read from the store, so every relay process reports the same figure.
    """

    name = "relay_quarantine"

    def __init__(self, registry: CollectorRegistry, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._gauge = Gauge(
            "tousu_relay_quarantined_events",
            "Events the relay set aside as unpublishable and has not published since",
            registry=registry,
        )

    async def refresh(self) -> None:
        self._gauge.set(await quarantine.open_count(self._pool))


class RelayActivity(Collector):
    """``tousu_relay_published_events_total`` and ``tousu_relay_leader``, read
    from the running relay's own counts."""

    def __init__(self, stats: Callable[[], RelayStats], leading: Callable[[], bool]) -> None:
        self._stats = stats
        self._leading = leading

    def collect(self) -> Iterator[Metric]:
        stats = self._stats()
        yield CounterMetricFamily(
            "tousu_relay_published_events",
            "Events this relay process published (JetStream stored them anew)",
            value=stats.published,
        )
        yield CounterMetricFamily(
            "tousu_relay_failures",
            "Publishing rounds of this relay process that failed and were retried",
            value=stats.failures,
        )
        yield CounterMetricFamily(
            "tousu_relay_set_aside_events",
            "Events this relay process put in the quarantine (again, after a failed release)",
            value=stats.quarantined,
        )
        yield CounterMetricFamily(
            "tousu_relay_republished_events",
            "Released events this relay process published again",
            value=stats.republished,
        )
        yield GaugeMetricFamily(
            "tousu_relay_leader",
            "1 while this relay process is the publishing leader, else 0",
            value=1 if self._leading() else 0,
        )
