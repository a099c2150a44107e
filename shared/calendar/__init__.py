"""The statutory working-day calendar used for every deadline (DESIGN, "Deadlines")."""

from shared.calendar.workdays import (
    SOURCE_BUILTIN,
    SOURCE_IMPORTED,
    SOURCE_PROVISIONAL,
    TZ,
    DayInfo,
    DayKind,
    Deadline,
    WorkdayCalendar,
    YearData,
    end_of_day,
)
from shared.calendar.yaml_format import CalendarFileError, FileProblem, parse_calendar_yaml

__all__ = [
    "SOURCE_BUILTIN",
    "SOURCE_IMPORTED",
    "SOURCE_PROVISIONAL",
    "TZ",
    "CalendarFileError",
    "DayInfo",
    "DayKind",
    "Deadline",
    "FileProblem",
    "WorkdayCalendar",
    "YearData",
    "end_of_day",
    "parse_calendar_yaml",
]
