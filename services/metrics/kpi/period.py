"""Cohort bounds and instants as people type them: a day (``2026-10-01``), a
month (``2026-10``) or a full timestamp; without a zone it is Beijing time."""

from __future__ import annotations

from datetime import date, datetime

from tousu.shared.calendar import TZ


class PeriodError(ValueError):
    pass


def parse_instant(text: str) -> datetime:
    """``2026-10`` → the month's first moment; ``2026-10-08`` → that day's
    first moment; ``2026-10-08T12:00`` (zone optional) → that instant."""
    text = text.strip()
    try:
        if len(text) == 7:
            return month_start(text)
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), TZ)
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise PeriodError(f"not a month, day or timestamp: {text!r}") from exc
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=TZ)


def month_start(month: str) -> datetime:
    try:
        year, number = (int(part) for part in month.split("-"))
        return datetime(year, number, 1, tzinfo=TZ)
    except ValueError as exc:
        raise PeriodError(f"not a month (YYYY-MM): {month!r}") from exc


def next_month(start: datetime) -> datetime:
    local = start.astimezone(TZ)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=TZ)


def cohort(start: str | None, end: str | None, now: datetime) -> tuple[datetime, datetime]:
    """[start, end): by default the current month; ``end`` defaults to the
    month after ``start`` when only a month is given, else to ``now``."""
    if start is None:
        begin = month_start(now.astimezone(TZ).strftime("%Y-%m"))
        finish = next_month(begin) if end is None else parse_instant(end)
    else:
        begin = parse_instant(start)
        if end is not None:
            finish = parse_instant(end)
        elif len(start.strip()) == 7:
            finish = next_month(begin)
        else:
            finish = now
    if finish <= begin:
        raise PeriodError(f"the cohort ends ({finish.isoformat()}) before it begins")
    return begin, finish
