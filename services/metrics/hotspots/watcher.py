"""The hotspot watcher: every ``hotspot_interval`` seconds it counts the
complaints of this week and month, and of the week and month just ended, per
service item, place and term, and raises ``HotspotAlertRaised`` for each
group that makes a surge (:func:`.surge.judge`).

The running period is judged too, not only complete ones: a count only grows
as the period goes on while its baseline (the periods before) is fixed, so a
rise found on Wednesday stays a rise on Sunday, and the office hears of it
days earlier. The period just ended is judged once more to catch what came
in at its end (or while the service was down) and late entries (补录) dated
into it.

A rise whose complaints are all in a rise found before it in the same
period is not raised again under another name: service items first, then
places, then words, most complaints first — the words 路灯 and 不亮 of nine
complaints at one place are that place's rise.

Every replica of the metrics service runs it. Each rise is one append to a
stream derived from it (:mod:`.alerts`), so replicas sweeping at once and a
watcher killed half-way and started again raise each rise once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import datetime

import asyncpg

from tousu.services.metrics.hotspots.alerts import (
    MAX_CASES,
    alert_event,
    alert_stream,
    raise_alert,
    raised_among,
)
from tousu.services.metrics.hotspots.counts import (
    Ranked,
    cases_of,
    counts,
    first_received,
    rank,
    windows_for,
)
from tousu.services.metrics.hotspots.surge import DIMENSIONS, PERIODS, HotspotRule, Window
from tousu.shared.events import utcnow
from tousu.shared.events.quality import HotspotDimension
from tousu.shared.logs import get_logger
from tousu.shared.store.postgres import PostgresEventStore

log = get_logger(__name__)


class HotspotWatcher:
    def __init__(
        self,
        store: PostgresEventStore,
        rule: HotspotRule,
        *,
        interval: float = 600.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._store = store
        self._rule = rule
        self._interval = interval
        self._clock = clock

    async def sweep(self) -> int:
        """Raise every rise not raised yet; how many this sweep stored."""
        now = self._clock()
        pool = self._store.pool
        first = await first_received(pool)
        raised = 0
        for period in PERIODS:
            windows = windows_for(period, now, self._rule, extra=1)
            found = {d: await counts(pool, d, windows, now) for d in DIMENSIONS}
            for window in windows[-2:]:
                # Items and places first: a word whose complaints are all in
                # a rise already found says nothing new (幸福路32号 rising
                # makes 路灯 rise with the same nine complaints).
                covered: list[frozenset[uuid.UUID]] = []
                for dimension in DIMENSIONS:
                    for ranked in rank(found[dimension], window, self._rule, first):
                        if ranked.verdict.surge:
                            raised += await self._consider(dimension, window, ranked, covered, now)
        return raised

    async def _consider(
        self,
        dimension: HotspotDimension,
        window: Window,
        ranked: Ranked,
        covered: list[frozenset[uuid.UUID]],
        now: datetime,
    ) -> int:
        """Raise one surge unless raised already or its complaints are all
        in a rise found before it; 1 if this call stored it."""
        pool = self._store.pool
        cases = await cases_of(pool, dimension, ranked.key, window, now, limit=MAX_CASES)
        ids = frozenset(c.complaint_id for c in cases)
        whole = ranked.verdict.count <= MAX_CASES  # else the list is cut short
        if whole and any(ids <= other for other in covered):
            return 0
        covered.append(ids)
        stream = alert_stream(dimension, ranked.key, window.period, window.start)
        if await raised_among(pool, [stream]):
            return 0
        event = alert_event(
            dimension,
            ranked.key,
            window,
            ranked.verdict,
            len(ranked.baseline_counts),
            self._rule.threshold,
            [c.complaint_id for c in reversed(cases)],
            now,
        )
        if not await raise_alert(self._store, event, stream):
            return 0
        log.info(
            "hotspot alert raised",
            dimension=dimension,
            key=ranked.key,
            period=window.period,
            period_start=window.start.isoformat(),
            count=ranked.verdict.count,
            baseline=round(ranked.verdict.baseline, 2),
        )
        return 1

    async def run(self) -> None:
        while True:
            try:
                await self.sweep()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                # The projection's table may not exist yet on a first start,
                # or the database is away: look again next time.
                log.warning("hotspot sweep failed; trying again later", error=str(exc))
            await asyncio.sleep(self._interval)
