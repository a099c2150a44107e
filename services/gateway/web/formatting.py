"""Dates and times as each language writes them, in Beijing time."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final

from babel.dates import format_date, format_time

from tousu.services.gateway.problems import Lang
from tousu.shared.calendar import TZ

# 24-hour clock and day-month-year read best beside Chinese dates.
_FORMAT_LOCALES: Final[dict[Lang, str]] = {"zh": "zh_CN", "en": "en_GB"}


def day(value: date | None, lang: Lang) -> str:
    """A day with its weekday; a deadline shows its day, since it ends with it (23:59:59)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(TZ).date()
    return format_date(value, "full", locale=_FORMAT_LOCALES[lang])


def moment(value: datetime | None, lang: Lang) -> str:
    if value is None:
        return ""
    local = value.astimezone(TZ)
    locale = _FORMAT_LOCALES[lang]
    return f"{format_date(local, 'medium', locale=locale)} {format_time(local, 'HH:mm')}"
