"""What the gateway and the command line read of the recurring problems
(热点诉求): a period's top groups per dimension, with their counts, the change
against the baseline, whether they make a surge and were alerted, and links
to their cases; the alerts raised lately; and the month's list for the
monthly report."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import asyncpg

from tousu.services.metrics.hotspots.alerts import (
    Alert,
    alert_stream,
    alerts_since,
    raised_among,
)
from tousu.services.metrics.hotspots.counts import (
    CaseRef,
    cases_of,
    counts,
    first_received,
    rank,
    windows_for,
)
from tousu.services.metrics.hotspots.surge import (
    DIMENSIONS,
    PERIODS,
    Change,
    HotspotRule,
    Window,
    window_of,
)
from tousu.shared.events.quality import HotspotDimension, HotspotPeriod
from tousu.shared.store.postgres import Connection

__all__ = [
    "DIMENSIONS",
    "PERIODS",
    "Alert",
    "CaseRef",
    "Hotspot",
    "HotspotList",
    "HotspotRule",
    "Window",
    "hotspots",
    "month_hotspots",
    "open_alerts",
    "window_of",
]

# Cases linked from each group in a list (the alert keeps up to 200), and
# named in the monthly report's sheet.
CASES_SHOWN = 5
MONTH_CASES = 20


@dataclass(frozen=True)
class Hotspot:
    dimension: HotspotDimension
    key: str
    count: int
    baseline: float  # the mean of the periods before
    baseline_counts: list[int]
    change: Change
    surge: bool
    alerted: bool  # a HotspotAlertRaised is on record for this group and period
    cases: list[CaseRef] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        return self.count / self.baseline if self.baseline else None

    @property
    def complaint_ids(self) -> list[uuid.UUID]:
        return [c.complaint_id for c in self.cases]


@dataclass(frozen=True)
class HotspotList:
    window: Window
    as_of: datetime
    complete: bool  # the period had ended by as_of
    rule: HotspotRule
    department: str | None
    items: list[Hotspot]

    def of(self, dimension: HotspotDimension) -> list[Hotspot]:
        return [h for h in self.items if h.dimension == dimension]


async def hotspots(
    pool: asyncpg.Pool | Connection,
    *,
    period: HotspotPeriod,
    at: datetime,
    rule: HotspotRule,
    dimensions: Sequence[HotspotDimension] = DIMENSIONS,
    department: str | None = None,
    limit: int = 5,
    cases: int = CASES_SHOWN,
) -> HotspotList:
    """The top ``limit`` groups of each dimension in the week or month holding
    ``at``, counted as of ``at``: most complaints first. ``department`` (a
    department head's view) counts only the complaints it holds now; the
    surge flag and the alert are the whole city's rule, shown for its groups."""
    windows = windows_for(period, at, rule)
    window = windows[-1]
    first = await first_received(pool)
    items: list[Hotspot] = []
    for dimension in dimensions:
        found = await counts(pool, dimension, windows, at, department)
        for ranked in rank(found, window, rule, first)[:limit]:
            refs = await cases_of(pool, dimension, ranked.key, window, at, department, cases)
            v = ranked.verdict
            items.append(
                Hotspot(
                    dimension,
                    ranked.key,
                    v.count,
                    v.baseline,
                    ranked.baseline_counts,
                    v.change,
                    v.surge,
                    False,
                    refs,
                )
            )
    streams = [alert_stream(h.dimension, h.key, period, window.start) for h in items]
    raised = await raised_among(pool, streams)
    items = [
        Hotspot(**{**h.__dict__, "alerted": stream in raised})
        for h, stream in zip(items, streams, strict=True)
    ]
    return HotspotList(window, at, window.complete(at), rule, department, items)


async def open_alerts(pool: asyncpg.Pool | Connection, now: datetime) -> list[Alert]:
    """The alerts of this week and the last, and of this month and the last:
    what the supervision office is still to look into."""
    since = {p: window_of(p, now).before(1).start for p in PERIODS}
    earliest = min(window_of(p, now).before(1).starts_at for p in PERIODS)
    return [a for a in await alerts_since(pool, earliest) if a.period_start >= since[a.period]]


async def month_hotspots(
    pool: asyncpg.Pool | Connection,
    month: str,
    as_of: datetime,
    rule: HotspotRule,
    limit: int = 10,
) -> HotspotList:
    """The month's list for the monthly report (热点诉求 sheet): ``month``
    (YYYY-MM, Shanghai) counted as of ``as_of``, or as of its end once it is over."""
    year, number = (int(part) for part in month.split("-"))
    start = Window("month", date(year, number, 1), date(year, number, 1))
    window = window_of("month", start.starts_at)
    at = min(as_of, window.ends_at - timedelta(microseconds=1))
    return await hotspots(pool, period="month", at=at, rule=rule, limit=limit, cases=MONTH_CASES)
