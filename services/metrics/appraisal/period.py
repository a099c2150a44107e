"""An appraisal period as people name it — a month ``2026-10``, a quarter
``2026-Q4`` or a year ``2026`` — and its bounds in Shanghai time."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from tousu.shared.calendar import TZ

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    name: str  # as written back: 2026-10, 2026-Q4, 2026
    start: datetime  # first instant (Shanghai midnight)
    end: datetime  # first instant after it

    @property
    def first_day(self) -> date:
        return self.start.date()


def _first(year: int, month: int) -> datetime:
    if month > 12:
        year, month = year + 1, month - 12
    return datetime(year, month, 1, tzinfo=TZ)


def parse_period(text: str) -> Period:
    """``2026-10``, ``2026-Q4`` or ``2026`` → the period's bounds."""
    text = text.strip()
    if m := _MONTH.match(text):
        year, month = int(m[1]), int(m[2])
        return Period(f"{year:04d}-{month:02d}", _first(year, month), _first(year, month + 1))
    if m := _QUARTER.match(text):
        year, quarter = int(m[1]), int(m[2])
        first = 3 * quarter - 2
        return Period(f"{year:04d}-Q{quarter}", _first(year, first), _first(year, first + 3))
    if (m := _YEAR.match(text)) and 2000 <= int(m[1]) <= 2100:
        year = int(m[1])
        return Period(f"{year:04d}", _first(year, 1), _first(year + 1, 1))
    raise PeriodError(f"not a month (YYYY-MM), quarter (YYYY-Qn) or year (YYYY): {text!r}")


def current_month(now: datetime) -> Period:
    return parse_period(now.astimezone(TZ).strftime("%Y-%m"))
