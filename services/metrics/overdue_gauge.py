"""``tousu_overdue_cases``: cases past an owed deadline, by department, for Prometheus."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import asyncpg
from prometheus_client import CollectorRegistry, Gauge

from tousu.services.metrics.deadlines import overdue_cases_by_department
from tousu.shared.events import utcnow

# The label of cases no department holds yet (not yet routed, or returned).
UNASSIGNED = "_"


class OverdueCases:
    """Read from ``case_view`` at each scrape: as current as the projection."""

    name = "overdue_cases"

    def __init__(
        self,
        registry: CollectorRegistry,
        pool: asyncpg.Pool,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._pool = pool
        self._clock = clock
        self._gauge = Gauge(
            "tousu_overdue_cases",
            "Cases owing a deadline (acceptance, claim, feedback, follow-up) that has "
            "passed, by the department holding them ('_': none yet)",
            ["department"],
            registry=registry,
        )

    async def refresh(self) -> None:
        counts = await overdue_cases_by_department(self._pool, self._clock())
        # A department no longer owing anything disappears rather than
        # reporting its last figure forever.
        self._gauge.clear()
        for department, overdue in counts.items():
            label = UNASSIGNED if department is None else department
            self._gauge.labels(department=label).set(overdue)
