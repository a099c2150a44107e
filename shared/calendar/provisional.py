"""Rule-based holidays for a year with no official schedule yet.

The fixed statutory holidays of 《全国年节及纪念日放假办法》 as amended in 2024
(in force from 2025). The State Council's yearly notice moves days around
(调休) and adds bridge days; neither can be predicted, so a provisional year
has no make-up workdays and every deadline falling in it is marked provisional.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

from lunar_python import Lunar


def _lunar(year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _qingming(year: int) -> date:
    # Lunar year `year` starts in Jan/Feb of solar year `year`, so its 清明
    # (early April) is the one of solar year `year`.
    solar = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _rules(year: int) -> list[tuple[date, str]]:
    new_year = _lunar(year, 1, 1)
    return [
        (date(year, 1, 1), "元旦"),
        # 除夕 is by definition the day before 正月初一, whether the twelfth
        # month has 29 or 30 days.
        *((new_year + timedelta(days=offset), "春节") for offset in (-1, 0, 1, 2)),
        (_qingming(year), "清明"),
        (date(year, 5, 1), "劳动节"),
        (date(year, 5, 2), "劳动节"),
        (_lunar(year, 5, 5), "端午"),
        (_lunar(year, 8, 15), "中秋"),
        (date(year, 10, 1), "国庆节"),
        (date(year, 10, 2), "国庆节"),
        (date(year, 10, 3), "国庆节"),
    ]


@lru_cache(maxsize=64)
def provisional_holidays(year: int) -> Mapping[date, str]:
    """Days off of ``year`` by rule alone; a day two festivals share gets both names."""
    holidays: dict[date, str] = {}
    for day, name in _rules(year):
        # 中秋 falls inside 国庆 in some years (e.g. 2028-10-03).
        holidays[day] = f"{holidays[day]}、{name}" if day in holidays else name
    return MappingProxyType(dict(sorted(holidays.items())))
