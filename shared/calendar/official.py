"""Built-in official schedules, read from the ``chinese_calendar`` package.

The package ships the State Council's yearly holiday notices as two dicts,
``holidays`` (days off) and ``workdays`` (make-up workdays, 调休上班), keyed by
date, each valued with the English name of the festival the day belongs to.
Reading them is pure: the data is compiled into the package.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from types import MappingProxyType

import chinese_calendar

BUILTIN_DOCUMENT = f"chinese-calendar {chinese_calendar.__version__}"


def _chinese_name(english: str) -> str:
    try:
        return str(chinese_calendar.Holiday(english).chinese)
    except ValueError:
        # A future package version may add a festival this code never saw;
        # its English name is still better than nothing.
        return english


def _by_year(days: Mapping[date, str], suffix: str) -> dict[int, dict[date, str]]:
    grouped: dict[int, dict[date, str]] = {}
    for day, english in sorted(days.items()):
        grouped.setdefault(day.year, {})[day] = _chinese_name(english) + suffix
    return grouped


@lru_cache(maxsize=1)
def _index() -> tuple[dict[int, dict[date, str]], dict[int, dict[date, str]]]:
    return (
        _by_year(chinese_calendar.holidays, ""),
        _by_year(chinese_calendar.workdays, "调休"),
    )


@lru_cache(maxsize=1)
def builtin_years() -> frozenset[int]:
    """Years the package has an official schedule for.

    Every covered year has holidays; a year with make-up days but no holidays
    cannot be official data, so the holiday years decide.
    """
    return frozenset(_index()[0])


def builtin_holidays(year: int) -> Mapping[date, str]:
    """Official days off of ``year`` (weekend days inside a holiday included)."""
    return MappingProxyType(_index()[0].get(year, {}))


def builtin_makeup_workdays(year: int) -> Mapping[date, str]:
    """Official make-up workdays of ``year``, named e.g. ``春节调休``."""
    return MappingProxyType(_index()[1].get(year, {}))
