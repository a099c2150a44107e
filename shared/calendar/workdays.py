"""Working days and deadlines in the Chinese statutory calendar (pure core).

Each year is taken from the first of these sources that has it:

1. ``imported`` — an operator's file (see ``yaml_format``), stored in the
   database; an imported year replaces every other source for that year.
2. ``builtin`` — the official schedules shipped in ``chinese_calendar``.
3. ``provisional`` — weekends plus the fixed statutory holidays (see
   ``provisional``); no make-up workdays.

Years from the first two sources are *official*. A deadline is provisional when
any day it counts over, from the day after the start through the deadline day,
lies in a provisional year, because the official notice may still move it.

"N working days from instant t" (docs/design.md, "Deadlines"): the Shanghai
calendar day of t is not counted; the deadline is the end of the N-th working
day after it, represented as 23:59:59.999999 Asia/Shanghai. N = 0 means the
end of t's own day, whether or not that day is a working day.
"""

from __future__ import annotations

import calendar as _gregorian
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

from tousu.shared.calendar.official import (
    BUILTIN_DOCUMENT,
    builtin_holidays,
    builtin_makeup_workdays,
    builtin_years,
)
from tousu.shared.calendar.provisional import provisional_holidays

TZ = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59, 999999)

SOURCE_IMPORTED = "imported"
SOURCE_BUILTIN = "builtin"
SOURCE_PROVISIONAL = "provisional"

# The years the calendar knows holidays for. The first is the first year of
# the official schedules shipped with tousu; the last is far enough ahead for
# any deadline a case can have. An instant outside them is refused wherever
# one enters (tousu.shared.domain.inputs), so no case makes the calendar count
# holidays across centuries.
FIRST_YEAR = 2004
LAST_YEAR = 2099
FIRST_INSTANT = datetime(FIRST_YEAR, 1, 1, tzinfo=TZ)
UNTIL_INSTANT = datetime(LAST_YEAR + 1, 1, 1, tzinfo=TZ)

# Enough for every start day and allowance a running system sees; the bound
# only keeps a long benchmark over random dates from growing without limit.
_DEADLINE_CACHE_SIZE = 1 << 17


class DayKind(StrEnum):
    WORKDAY = "workday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    MAKEUP_WORKDAY = "makeup_workday"


@dataclass(frozen=True)
class DayInfo:
    day: date
    kind: DayKind
    name: str | None
    provisional: bool
    source: str

    @property
    def is_workday(self) -> bool:
        return self.kind in (DayKind.WORKDAY, DayKind.MAKEUP_WORKDAY)


@dataclass(frozen=True)
class Due:
    """The end of a count of working days: when, how many days, and whether a
    provisional year (no published holidays yet) was counted. A decision
    records it as an event's :class:`tousu.shared.events.types.Deadline`,
    which adds the deadline's kind (shared/domain/context.py)."""

    at: datetime
    provisional: bool
    working_days: int


@dataclass(frozen=True)
class YearData:
    """One year's exceptions to the Monday-to-Friday week."""

    year: int
    holidays: dict[date, str]
    makeup_workdays: dict[date, str]
    source: str
    # The notice the data came from, e.g. "国务院办公厅关于2027年部分节假日安排的通知";
    # not compared, so equal years mean an equal calendar whatever the paperwork.
    source_document: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class _CompiledYear:
    data: YearData
    provisional: bool
    first_ordinal: int
    length: int
    # cumulative[i] = working days among the year's first i days, so the
    # working days of in-year indices [a, b) are cumulative[b] - cumulative[a].
    cumulative: list[int]

    @property
    def total(self) -> int:
        return self.cumulative[-1]


def _compile(data: YearData, provisional: bool) -> _CompiledYear:
    first = date(data.year, 1, 1).toordinal()
    length = 366 if _gregorian.isleap(data.year) else 365
    if not data.holidays and not data.makeup_workdays:
        cumulative = _weekdays(date.fromordinal(first).weekday(), length)
        return _CompiledYear(data, provisional, first, length, cumulative)
    makeup = {d.toordinal() - first for d in data.makeup_workdays}
    holidays = {d.toordinal() - first for d in data.holidays}
    weekday = date.fromordinal(first).weekday()
    cumulative = [0] * (length + 1)
    running = 0
    for index in range(length):
        if index in makeup or ((weekday + index) % 7 < 5 and index not in holidays):
            running += 1
        cumulative[index + 1] = running
    return _CompiledYear(data, provisional, first, length, cumulative)


def _weekdays_upto(ordinal: int) -> int:
    """Mondays to Fridays among the ordinals 1..``ordinal`` (day 1, 0001-01-01,
    is a Monday)."""
    return 5 * (ordinal // 7) + min(ordinal % 7, 5)


@cache
def _weekdays(first_weekday: int, length: int) -> list[int]:
    """The cumulative working days of a year with weekends alone: one of
    fourteen, shared by every such year (never mutated)."""
    cumulative = [0] * (length + 1)
    for index in range(length):
        cumulative[index + 1] = cumulative[index] + ((first_weekday + index) % 7 < 5)
    return cumulative


@cache
def _default_year(year: int) -> _CompiledYear:
    """A year without an import, compiled once per process: every calendar
    shares it (a calendar is built per request), and the lunar arithmetic of a
    provisional year costs milliseconds."""
    if year in builtin_years():
        data = YearData(
            year,
            dict(builtin_holidays(year)),
            dict(builtin_makeup_workdays(year)),
            SOURCE_BUILTIN,
            BUILTIN_DOCUMENT,
        )
        return _compile(data, False)
    if FIRST_YEAR <= year <= LAST_YEAR:
        return _compile(
            YearData(year, dict(provisional_holidays(year)), {}, SOURCE_PROVISIONAL), True
        )
    # Outside the calendar's years (only data stored before instants were
    # bounded can reach here): weekends alone, provisional. Cheap, so such a
    # case cannot slow anything, and no holiday rule is stretched to a year
    # it was never made for.
    return _compile(YearData(year, {}, {}, SOURCE_PROVISIONAL), True)


def _check_year(data: YearData) -> None:
    for days in (data.holidays, data.makeup_workdays):
        strays = sorted(d for d in days if d.year != data.year)
        if strays:
            raise ValueError(f"year {data.year} data lists {strays[0]}, a day of another year")
    both = sorted(set(data.holidays) & set(data.makeup_workdays))
    if both:
        raise ValueError(f"year {data.year} lists {both[0]} as both holiday and make-up workday")


def _to_shanghai(instant: datetime, what: str) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {instant.isoformat()}")
    return instant.astimezone(TZ)


def end_of_day(day: date) -> datetime:
    return datetime.combine(day, END_OF_DAY, tzinfo=TZ)


class WorkdayCalendar:
    """Immutable view of the statutory calendar; built-in and provisional years are
    always present, ``imported`` years override them (later entries win)."""

    def __init__(self, imported: Iterable[YearData] = ()) -> None:
        self._imported: dict[int, YearData] = {}
        for data in imported:
            _check_year(data)
            self._imported[data.year] = data
        self._years: dict[int, _CompiledYear] = {}
        # Per instance, so a calendar with newer imports never answers from
        # another calendar's cache.
        self._deadline = lru_cache(maxsize=_DEADLINE_CACHE_SIZE)(self._compute_deadline)

    @property
    def imported_years(self) -> Mapping[int, YearData]:
        return dict(self._imported)

    def with_imported(self, years: Iterable[YearData]) -> WorkdayCalendar:
        """A new calendar with ``years`` imported on top of this one's imports."""
        return WorkdayCalendar([*self._imported.values(), *years])

    @property
    def official_years(self) -> frozenset[int]:
        """Years with an official schedule (built in or imported)."""
        return frozenset(self._imported) | builtin_years()

    def is_official(self, year: int) -> bool:
        return year in self._imported or year in builtin_years()

    def year_data(self, year: int) -> YearData:
        return self._year(year).data

    def day(self, d: date) -> DayInfo:
        compiled = self._year(d.year)
        data = compiled.data
        if d in data.makeup_workdays:
            kind, name = DayKind.MAKEUP_WORKDAY, data.makeup_workdays[d]
        elif d in data.holidays:
            kind, name = DayKind.HOLIDAY, data.holidays[d]
        elif d.weekday() >= 5:
            kind, name = DayKind.WEEKEND, None
        else:
            kind, name = DayKind.WORKDAY, None
        return DayInfo(d, kind, name, compiled.provisional, data.source)

    def is_workday(self, d: date) -> bool:
        compiled = self._year(d.year)
        index = d.toordinal() - compiled.first_ordinal
        return compiled.cumulative[index + 1] > compiled.cumulative[index]

    def previous_workday(self, d: date) -> date:
        """The last working day strictly before ``d`` (weekends, holidays and
        make-up workdays as for deadlines)."""
        day = d - timedelta(days=1)
        while not self.is_workday(day):
            day -= timedelta(days=1)
        return day

    def month(self, year: int, month: int) -> list[DayInfo]:
        days = _gregorian.monthrange(year, month)[1]
        return [self.day(date(year, month, d)) for d in range(1, days + 1)]

    def add_working_days(self, start: datetime, n: int) -> Due:
        """The end of the ``n``-th working day after ``start``'s Shanghai day."""
        if n < 0:
            raise ValueError(f"working days must not be negative, got {n}")
        return self._deadline(_to_shanghai(start, "start").toordinal(), n)

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Working days d with start's day < d <= end's day (Shanghai days);
        negative, with the roles swapped, when ``end`` is before ``start``."""
        a = _to_shanghai(start, "start").toordinal()
        b = _to_shanghai(end, "end").toordinal()
        return self._count_after(a, b) if b >= a else -self._count_after(b, a)

    def _year(self, year: int) -> _CompiledYear:
        compiled = self._years.get(year)
        if compiled is None:
            imported = self._imported.get(year)
            compiled = _default_year(year) if imported is None else _compile(imported, False)
            self._years[year] = compiled
        return compiled

    def _compute_deadline(self, start_ordinal: int, n: int) -> Due:
        if n == 0:
            return Due(end_of_day(date.fromordinal(start_ordinal)), False, 0)
        compiled = self._year(date.fromordinal(start_ordinal).year)
        index = start_ordinal - compiled.first_ordinal + 1
        remaining = n
        provisional = False
        while True:
            if index < compiled.length:
                provisional = provisional or compiled.provisional
                target = compiled.cumulative[index] + remaining
                if target <= compiled.total:
                    # The first in-year index whose count reaches the target
                    # is one past the deadline day.
                    last = bisect_left(compiled.cumulative, target) - 1
                    deadline_day = date.fromordinal(compiled.first_ordinal + last)
                    return Due(end_of_day(deadline_day), provisional, n)
                remaining = target - compiled.total
            compiled = self._year(compiled.data.year + 1)
            index = 0

    def _count_after(self, a: int, b: int) -> int:
        """Working days with ordinals in (a, b]."""
        if b <= a:
            return 0
        # Before the calendar's first year (a due date stored before instants
        # were bounded) a year is weekends alone, unless imported: counted in
        # one step rather than year by year, so that such a case costs no more
        # than any other.
        plain_until = min((y for y in self._imported if y < FIRST_YEAR), default=FIRST_YEAR)
        head_end = min(b, date(plain_until, 1, 1).toordinal() - 1)
        if a < head_end:
            return _weekdays_upto(head_end) - _weekdays_upto(a) + self._count_after(head_end, b)
        first, last = date.fromordinal(a + 1), date.fromordinal(b)
        count = 0
        for year in range(first.year, last.year + 1):
            compiled = self._year(year)
            lo = a + 1 - compiled.first_ordinal if year == first.year else 0
            hi = b + 1 - compiled.first_ordinal if year == last.year else compiled.length
            count += compiled.cumulative[hi] - compiled.cumulative[lo]
        return count
