"""Figures read when Prometheus scrapes, not kept up to date in between."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter

from tousu.shared.logs import get_logger

log = get_logger(__name__)

# A scrape must answer well within Prometheus' default 10 s scrape timeout.
REFRESH_TIMEOUT = 5.0


class ScrapeSource(Protocol):
    """Sets its gauges from their source (PostgreSQL, JetStream) when called."""

    name: str

    async def refresh(self) -> None: ...


class Refresher:
    """Refreshes every source before a scrape; one that fails keeps its last values."""

    def __init__(self, registry: CollectorRegistry, sources: Sequence[ScrapeSource]) -> None:
        self._sources = list(sources)
        self._errors = Counter(
            "tousu_scrape_errors",
            "Scrapes in which a source of figures (database, JetStream) failed or timed out",
            ["source"],
            registry=registry,
        )
        for source in self._sources:
            self._errors.labels(source.name)

    async def refresh(self) -> None:
        await asyncio.gather(*(self._refresh(source) for source in self._sources))

    async def _refresh(self, source: ScrapeSource) -> None:
        try:
            async with asyncio.timeout(REFRESH_TIMEOUT):
                await source.refresh()
        except Exception as exc:
            self._errors.labels(source.name).inc()
            log.warning("metrics source failed", source=source.name, error=repr(exc))
