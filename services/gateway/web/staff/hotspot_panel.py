"""The dashboard's recurring-problems panel (热点诉求): this week's and this
month's top groups per service item, place and term, with their counts, the
change against the periods before, the hotspot and alert flags and links to
their cases; and the alerts still open for the supervision office. Rendered
by templates/staff/_hotspots.html inside the supervisor's dashboard."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

import asyncpg

from tousu.services.gateway.problems import Lang
from tousu.services.gateway.web.i18n import N_, gettext
from tousu.services.metrics.hotspots.views import (
    PERIODS,
    Alert,
    Hotspot,
    HotspotList,
    HotspotRule,
    hotspots,
    open_alerts,
)
from tousu.services.metrics.views import case_briefs
from tousu.shared.calendar import TZ
from tousu.shared.events.quality import HotspotDimension, HotspotPeriod
from tousu.shared.intake.commitments import CommitmentRegister

# Groups shown per dimension and period, and cases linked per group; a
# group of one complaint recurs nowhere yet.
SHOWN: Final = 5
CASE_LINKS: Final = 3
RECURRING: Final = 2

PERIOD_TITLES: Final[dict[HotspotPeriod, str]] = {
    "week": N_("This week (%(label)s, from %(start)s), so far"),
    "month": N_("This month (%(label)s), so far"),
}
BASELINE_NAMES: Final[dict[HotspotPeriod, str]] = {
    "week": N_("mean of the %(n)s weeks before: %(mean)s"),
    "month": N_("mean of the %(n)s months before: %(mean)s"),
}
DIMENSION_NAMES: Final[dict[HotspotDimension, str]] = {
    "service_item": N_("Service item"),
    "location": N_("Place"),
    "term": N_("Keyword"),
}
CHANGES: Final[dict[str, str]] = {
    "new": N_("new"),
    "up": N_("up %(ratio)s×"),
    "flat": N_("no change"),
    "down": N_("down"),
}
COUNT = N_("%(count)s complaints")


def _mean(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


class HotspotPanel:
    def __init__(self, register: CommitmentRegister, rule: HotspotRule) -> None:
        self._register = register
        self._rule = rule
        self._items = {item.code: item for item in register.items}

    def key_name(self, dimension: HotspotDimension, key: str, lang: Lang) -> str:
        """A service item by its name; a place or a term as it is."""
        if dimension == "service_item" and key in self._items:
            return self._items[key].name.get(lang)
        return key

    def _item(self, h: Hotspot, found: HotspotList, lang: Lang) -> dict[str, Any]:
        # The periods the mean was taken over: fewer than the rule's where
        # the store began recording later.
        n = len(h.baseline_counts)
        ratio = f"{h.ratio:.1f}" if h.ratio is not None else ""
        # A period still running only gains complaints: below the mean of
        # whole periods so far is not a fall (the mean beside it says where
        # it stands); a rise already counts.
        change = "" if h.change == "down" and not found.complete else h.change
        return {
            "dimension": gettext(lang, DIMENSION_NAMES[h.dimension]),
            "name": self.key_name(h.dimension, h.key, lang),
            "count": h.count,
            "count_text": gettext(lang, COUNT, count=h.count),
            "baseline": gettext(
                lang, BASELINE_NAMES[found.window.period], n=n, mean=_mean(h.baseline)
            ),
            "change": gettext(lang, CHANGES[change], ratio=ratio) if change else "",
            "change_kind": change,
            "surge": h.surge,
            "alerted": h.alerted,
            "cases": [
                {"complaint_id": str(c.complaint_id), "tracking_no": c.tracking_no or "—"}
                for c in h.cases[:CASE_LINKS]
            ],
            "more": max(0, h.count - CASE_LINKS),
        }

    async def context(
        self, pool: asyncpg.Pool, now: datetime, lang: Lang, department: str | None = None
    ) -> dict[str, Any]:
        """What _hotspots.html shows."""
        periods = []
        for period in PERIODS:
            found = await hotspots(
                pool,
                period=period,
                at=now,
                rule=self._rule,
                department=department,
                limit=SHOWN,
                cases=CASE_LINKS,
            )
            start = found.window.start
            periods.append(
                {
                    "period": period,
                    "title": gettext(
                        lang,
                        PERIOD_TITLES[period],
                        label=found.window.label(),
                        start=start.isoformat(),
                    ),
                    "rows": [
                        self._item(h, found, lang) for h in found.items if h.count >= RECURRING
                    ],
                }
            )
        alerts = await open_alerts(pool, now) if department is None else []
        return {
            "hotspot_periods": periods,
            "hotspot_alerts": await self._alerts(pool, alerts, lang),
            "hotspot_rule": self._rule,
        }

    async def alerts(self, pool: asyncpg.Pool, now: datetime, lang: Lang) -> dict[str, Any]:
        """What _hotspot_alerts.html shows: the open alerts, for the office's lists."""
        return {"hotspot_alerts": await self._alerts(pool, await open_alerts(pool, now), lang)}

    async def _alerts(self, pool: asyncpg.Pool, alerts: list[Alert], lang: Lang) -> list[Any]:
        ids = {uuid.UUID(i) for a in alerts for i in a.complaint_ids[-CASE_LINKS:]}
        briefs = await case_briefs(pool, ids) if ids else {}
        out = []
        for a in alerts:
            latest = [uuid.UUID(i) for i in reversed(a.complaint_ids[-CASE_LINKS:])]
            out.append(
                {
                    "dimension": gettext(lang, DIMENSION_NAMES[a.dimension]),
                    "name": self.key_name(a.dimension, a.key, lang),
                    "period": a.period,
                    "period_start": a.period_start,
                    "count_text": gettext(lang, COUNT, count=a.count),
                    "baseline": gettext(
                        lang, BASELINE_NAMES[a.period], n=a.baseline_periods, mean=_mean(a.baseline)
                    ),
                    "raised_at": a.raised_at.astimezone(TZ),
                    "cases": [
                        {
                            "complaint_id": str(i),
                            "tracking_no": briefs[i]["tracking_no"] if i in briefs else str(i)[:8],
                        }
                        for i in latest
                    ],
                }
            )
        return out
