"""When a group's complaints make a hotspot (热点): the periods counted (weeks
from Monday and calendar months, in Asia/Shanghai) and the rule that judges
a period's count against the mean of the periods before it. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal, get_args

from tousu.shared.calendar import TZ
from tousu.shared.events.quality import HotspotDimension, HotspotPeriod
from tousu.shared.settings import QualitySection

PERIODS: tuple[HotspotPeriod, ...] = get_args(HotspotPeriod)
DIMENSIONS: tuple[HotspotDimension, ...] = get_args(HotspotDimension)
Change = Literal["new", "up", "flat", "down"]


@dataclass(frozen=True, order=True)
class Window:
    """One week (Monday to Sunday) or calendar month, as Shanghai dates:
    ``start`` included, ``end`` excluded."""

    period: HotspotPeriod
    start: date
    end: date

    @property
    def starts_at(self) -> datetime:
        return datetime(self.start.year, self.start.month, self.start.day, tzinfo=TZ)

    @property
    def ends_at(self) -> datetime:
        return datetime(self.end.year, self.end.month, self.end.day, tzinfo=TZ)

    def complete(self, at: datetime) -> bool:
        """Whether the period has ended by ``at``."""
        return at >= self.ends_at

    def before(self, count: int = 1) -> Window:
        """The period ``count`` periods earlier."""
        if self.period == "week":
            start = self.start - timedelta(weeks=count)
            return Window("week", start, start + timedelta(weeks=1))
        index = self.start.year * 12 + self.start.month - 1 - count
        start = date(index // 12, index % 12 + 1, 1)
        return Window("month", start, _next_month(start))

    def baseline(self, periods: int) -> list[Window]:
        """The ``periods`` periods before this one, oldest first."""
        return [self.before(n) for n in range(periods, 0, -1)]

    def label(self) -> str:
        """2026-W49 (ISO week) or 2026-12."""
        if self.period == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start:%Y-%m}"


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def window_of(period: HotspotPeriod, at: datetime) -> Window:
    """The week (from Monday) or month holding the instant ``at``, in Shanghai."""
    local = at.astimezone(TZ).date()
    if period == "week":
        start = local - timedelta(days=local.weekday())
        return Window("week", start, start + timedelta(weeks=1))
    start = local.replace(day=1)
    return Window("month", start, _next_month(start))


@dataclass(frozen=True)
class HotspotRule:
    """settings.quality's hotspot_threshold, hotspot_min_count and hotspot_baseline_periods."""

    threshold: float = 2.0
    min_count: int = 5
    baseline_periods: int = 4

    @classmethod
    def of(cls, quality: QualitySection) -> HotspotRule:
        return cls(
            threshold=quality.hotspot_threshold,
            min_count=quality.hotspot_min_count,
            baseline_periods=quality.hotspot_baseline_periods,
        )


@dataclass(frozen=True)
class Verdict:
    count: int
    baseline: float  # the mean count of the periods before
    surge: bool
    change: Change

    @property
    def ratio(self) -> float | None:
        """count ÷ baseline; None when the baseline is 0."""
        return self.count / self.baseline if self.baseline else None


def judge(count: int, before: Sequence[int], rule: HotspotRule, *, observed: bool) -> Verdict:
    """Whether ``count`` complaints in a period make a hotspot, against the
    counts of the periods ``before`` it.

    A surge is at least ``rule.min_count`` complaints and at least
    ``rule.threshold`` times the mean of the periods before. A mean of 0 (a
    problem nobody complained of before) is a surge once the count reaches
    ``min_count``. Either needs the periods before to have been
    ``observed`` (recorded by the store): a system just started, or a
    history imported only from last month, has no "before" to rise from.
    """
    if not before:
        raise ValueError("the baseline needs at least one period")
    mean = sum(before) / len(before)
    if mean == 0:
        surge = observed and count >= rule.min_count
        change: Change = "new" if count else "flat"
    else:
        surge = observed and count >= rule.min_count and count >= rule.threshold * mean
        change = "up" if count > mean else "down" if count < mean else "flat"
    return Verdict(count, mean, surge, change)
