"""The operator's calendar file: parse and validate, no I/O.

A file is a stream of YAML documents, one per year; separate years with a line
``---``. Each document::

    year: 2027                     # required
    source: "国务院办公厅关于2027年部分节假日安排的通知"   # optional, recorded
    holidays:                      # required, the days off
      - {date: 2027-01-01, name: 元旦}
      - {from: 2027-02-05, to: 2027-02-11, name: 春节}   # inclusive range
    makeup_workdays:               # optional, 调休上班 (Saturday or Sunday only)
      - {date: 2027-02-20, name: 春节调休}              # name optional

List every day off of the notice, weekend days inside a holiday included;
any other Saturday or Sunday is off anyway. Importing a year replaces that
year wholesale, so a file must carry the whole year, never a correction alone.

Rejected, each with file, line and column: YAML syntax errors, unknown or
duplicate keys, a missing ``year`` or ``holidays``, a date that is not
``YYYY-MM-DD``, a day outside the document's year, ``from`` after ``to``, a
day listed twice (duplicates or overlapping ranges), a day that is both a
holiday and a make-up workday, a make-up workday that is not a Saturday or
Sunday, and the same year in two documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tousu.shared.calendar.workdays import SOURCE_IMPORTED, YearData

MIN_YEAR, MAX_YEAR = 1900, 2200
DEFAULT_MAKEUP_NAME = "调休上班"

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEAR = re.compile(r"^\d{4}$")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DOCUMENT_KEYS = ("year", "source", "holidays", "makeup_workdays")
_ENTRY_KEYS = ("date", "from", "to", "name")


@dataclass(frozen=True)
class FileProblem:
    line: int  # 1-based; 0 when the problem has no place (e.g. an empty file)
    column: int
    field: str
    message: str

    def render(self, filename: str) -> str:
        where = f"{filename}:{self.line}:{self.column}" if self.line else filename
        return f"{where}: {self.field}: {self.message}"


class CalendarFileError(ValueError):
    """Every problem found in the file, not just the first, so one edit round fixes all."""

    def __init__(self, filename: str, problems: list[FileProblem]) -> None:
        self.filename = filename
        self.problems = problems
        super().__init__("\n".join(p.render(filename) for p in problems))


class _Problems:
    def __init__(self) -> None:
        self.items: list[FileProblem] = []

    def add(self, node: Node | None, path: str, message: str) -> None:
        line, column = (node.start_mark.line + 1, node.start_mark.column + 1) if node else (0, 0)
        self.items.append(FileProblem(line, column, path, message))


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


@dataclass(frozen=True)
class _Day:
    day: date
    name: str
    node: Node  # where the day was listed, for messages


def _mapping(
    node: Node, path: str, allowed: tuple[str, ...], problems: _Problems
) -> dict[str, Node] | None:
    if not isinstance(node, MappingNode):
        problems.add(node, path, "expected a mapping of " + ", ".join(allowed))
        return None
    fields: dict[str, Node] = {}
    for key, value in node.value:
        name = key.value if isinstance(key, ScalarNode) else None
        if name not in allowed:
            problems.add(
                key,
                f"{path}.{name}" if name else path,
                "unknown key; allowed: " + ", ".join(allowed),
            )
        elif name in fields:
            problems.add(
                key, f"{path}.{name}", f"duplicate key (first on line {_line(fields[name])})"
            )
        else:
            fields[name] = value
    return fields


def _text(node: Node, path: str, problems: _Problems) -> str | None:
    if isinstance(node, ScalarNode) and node.tag != "tag:yaml.org,2002:null":
        value = str(node.value).strip()
        if value:
            return value
    problems.add(node, path, "expected non-empty text")
    return None


def _date(node: Node, path: str, year: int | None, problems: _Problems) -> date | None:
    raw = node.value if isinstance(node, ScalarNode) else None
    if not isinstance(raw, str) or not _DATE.match(raw):
        problems.add(node, path, "expected a date written YYYY-MM-DD")
        return None
    try:
        value = date.fromisoformat(raw)
    except ValueError:
        problems.add(node, path, f"{raw} is not a calendar date")
        return None
    if year is not None and value.year != year:
        problems.add(node, path, f"{value} is outside the document's year {year}")
        return None
    return value


def _year(node: Node, problems: _Problems) -> int | None:
    raw = node.value if isinstance(node, ScalarNode) else None
    if not isinstance(raw, str) or not _YEAR.match(raw) or not MIN_YEAR <= int(raw) <= MAX_YEAR:
        problems.add(node, "year", f"expected a year between {MIN_YEAR} and {MAX_YEAR}")
        return None
    return int(raw)


def _entries(
    node: Node, path: str, year: int | None, name_required: bool, problems: _Problems
) -> list[_Day]:
    if not isinstance(node, SequenceNode):
        problems.add(node, path, "expected a list of {date, name} or {from, to, name} entries")
        return []
    days: list[_Day] = []
    for position, item in enumerate(node.value):
        where = f"{path}[{position}]"
        fields = _mapping(item, where, _ENTRY_KEYS, problems)
        if fields is None:
            continue
        if "name" in fields:
            name = _text(fields["name"], f"{where}.name", problems)
        elif name_required:
            problems.add(item, f"{where}.name", "missing")
            name = None
        else:
            name = DEFAULT_MAKEUP_NAME
        span = _span(item, fields, where, year, problems)
        if span is not None and name is not None:
            first, last = span
            days.extend(
                _Day(first + timedelta(days=k), name, item) for k in range((last - first).days + 1)
            )
    return days


def _span(
    item: Node, fields: dict[str, Node], where: str, year: int | None, problems: _Problems
) -> tuple[date, date] | None:
    if "date" in fields:
        if "from" in fields or "to" in fields:
            problems.add(item, where, "give either date, or from and to, not both")
            return None
        day = _date(fields["date"], f"{where}.date", year, problems)
        return None if day is None else (day, day)
    if "from" not in fields or "to" not in fields:
        problems.add(item, where, "missing date (or from and to)")
        return None
    first = _date(fields["from"], f"{where}.from", year, problems)
    last = _date(fields["to"], f"{where}.to", year, problems)
    if first is None or last is None:
        return None
    if first > last:
        problems.add(fields["from"], f"{where}.from", f"from {first} is after to {last}")
        return None
    return first, last


def _unique(days: list[_Day], path: str, what: str, problems: _Problems) -> dict[date, _Day]:
    seen: dict[date, _Day] = {}
    # One message per clashing entry: two overlapping week-long ranges are one
    # mistake, not seven.
    reported: set[int] = set()
    for entry in days:
        if entry.day in seen:
            if id(entry.node) in reported:
                continue
            reported.add(id(entry.node))
            problems.add(
                entry.node,
                path,
                f"{entry.day} is already listed as a {what} on line {_line(seen[entry.day].node)}",
            )
        else:
            seen[entry.day] = entry
    return seen


def _document(node: Node, problems: _Problems) -> YearData | None:
    fields = _mapping(node, "document", _DOCUMENT_KEYS, problems)
    if fields is None:
        return None
    if "year" in fields:
        year = _year(fields["year"], problems)
    else:
        problems.add(node, "year", "missing")
        year = None
    source = _text(fields["source"], "source", problems) if "source" in fields else None
    if "holidays" not in fields:
        problems.add(node, "holidays", "missing")
        holiday_list = []
    else:
        holiday_node = fields["holidays"]
        if isinstance(holiday_node, SequenceNode) and not holiday_node.value:
            problems.add(holiday_node, "holidays", "no holidays listed")
        holiday_list = _entries(holiday_node, "holidays", year, True, problems)
    makeup_list = (
        _entries(fields["makeup_workdays"], "makeup_workdays", year, False, problems)
        if "makeup_workdays" in fields
        else []
    )
    holidays = _unique(holiday_list, "holidays", "holiday", problems)
    makeups = _unique(makeup_list, "makeup_workdays", "make-up workday", problems)
    for day, entry in makeups.items():
        if day in holidays:
            problems.add(
                entry.node,
                "makeup_workdays",
                f"{day} is also listed as a holiday on line {_line(holidays[day].node)}",
            )
        elif day.weekday() < 5:
            problems.add(
                entry.node,
                "makeup_workdays",
                f"{day} is a {_WEEKDAYS[day.weekday()]}; a make-up workday "
                "must be a Saturday or Sunday",
            )
    if year is None:
        return None
    return YearData(
        year=year,
        holidays={d: e.name for d, e in sorted(holidays.items())},
        makeup_workdays={d: e.name for d, e in sorted(makeups.items())},
        source=SOURCE_IMPORTED,
        source_document=source,
    )


def parse_calendar_yaml(text: str, filename: str = "<calendar file>") -> list[YearData]:
    """The years of an operator file, or ``CalendarFileError`` listing every problem."""
    problems = _Problems()
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise CalendarFileError(
            filename, [FileProblem(line, column, "YAML", str(exc.problem))]
        ) from exc
    years: list[YearData] = []
    first_line: dict[int, int] = {}
    for node in nodes:
        if node is None:
            continue
        data = _document(node, problems)
        if data is None:
            continue
        if data.year in first_line:
            problems.add(
                node,
                "year",
                f"year {data.year} appears twice (first on line {first_line[data.year]})",
            )
            continue
        first_line[data.year] = _line(node)
        years.append(data)
    if not years and not problems.items:
        problems.add(None, "file", "no year found")
    if problems.items:
        raise CalendarFileError(filename, problems.items)
    return years
