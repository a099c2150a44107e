"""The statutory working-day calendar used for every deadline (docs/design.md, "Deadlines")."""

from tousu.shared.calendar.workdays import (
    FIRST_INSTANT,
    FIRST_YEAR,
    LAST_YEAR,
    SOURCE_BUILTIN,
    SOURCE_IMPORTED,
    SOURCE_PROVISIONAL,
    TZ,
    UNTIL_INSTANT,
    DayInfo,
    DayKind,
    Due,
    WorkdayCalendar,
    YearData,
    end_of_day,
)
from tousu.shared.calendar.yaml_format import CalendarFileError, FileProblem, parse_calendar_yaml

__all__ = [
    "FIRST_INSTANT",
    "FIRST_YEAR",
    "LAST_YEAR",
    "SOURCE_BUILTIN",
    "SOURCE_IMPORTED",
    "SOURCE_PROVISIONAL",
    "TZ",
    "UNTIL_INSTANT",
    "CalendarFileError",
    "DayInfo",
    "DayKind",
    "Due",
    "FileProblem",
    "WorkdayCalendar",
    "YearData",
    "end_of_day",
    "parse_calendar_yaml",
]
