"""The working-day calendar: the worked examples of docs/design.md, "Deadlines";
sources; the operator file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tousu.cli import app
from tousu.cli.calendar_cmds import calendar_app
from tousu.shared.calendar import (
    TZ,
    CalendarFileError,
    DayKind,
    WorkdayCalendar,
    YearData,
    parse_calendar_yaml,
)
from tousu.shared.calendar.official import builtin_years
from tousu.shared.calendar.provisional import provisional_holidays

EXAMPLE_2027 = (
    Path(__file__).resolve().parents[2] / "shared" / "calendar" / "data" / "example-2027.yaml"
)


@pytest.fixture(scope="module")
def cal() -> WorkdayCalendar:
    return WorkdayCalendar()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def end_of(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T23:59:59.999999").replace(tzinfo=TZ)


# --- docs/design.md, "Deadlines": worked examples -----------------------------


def test_received_friday_before_spring_festival(cal: WorkdayCalendar) -> None:
    deadline = cal.add_working_days(at("2026-02-13T17:00:00+08:00"), 2)
    assert deadline.at == end_of("2026-02-24")
    assert deadline.at.utcoffset() == timedelta(hours=8)
    assert deadline.provisional is False
    assert deadline.working_days == 2


def test_accepted_before_national_day(cal: WorkdayCalendar) -> None:
    deadline = cal.add_working_days(at("2026-09-18T10:00:00+08:00"), 15)
    assert deadline.at == end_of("2026-10-15")
    assert not deadline.provisional


@pytest.mark.parametrize("day", [11, 15, 31])
def test_december_2026_plus_15_is_provisional_2027(cal: WorkdayCalendar, day: int) -> None:
    # Earlier December starts still end inside official 2026 (Dec 10 + 15 = Dec 31).
    assert 2027 not in builtin_years()
    deadline = cal.add_working_days(datetime(2026, 12, day, 9, tzinfo=TZ), 15)
    assert deadline.at.year == 2027
    assert deadline.provisional


def test_importing_the_year_makes_the_deadline_firm(cal: WorkdayCalendar) -> None:
    start = datetime(2026, 12, 31, 9, tzinfo=TZ)
    years = parse_calendar_yaml(EXAMPLE_2027.read_text(encoding="utf-8"))
    firm = cal.with_imported(years).add_working_days(start, 15)
    assert not firm.provisional
    # The example file gives Jan 1-3 off and nothing else in January besides
    # weekends, so the 15th working day is Fri 2027-01-22.
    assert firm.at == end_of("2027-01-22")
    assert cal.add_working_days(start, 15).provisional  # the original is unchanged


# --- the day kinds --------------------------------------------------------------


def test_makeup_workdays_2026(cal: WorkdayCalendar) -> None:
    for text in ("2026-02-14", "2026-09-20", "2026-10-10"):
        info = cal.day(date.fromisoformat(text))
        assert info.kind is DayKind.MAKEUP_WORKDAY
        assert cal.is_workday(info.day)
        assert info.source == "builtin" and not info.provisional
    assert cal.day(date(2026, 2, 14)).name == "春节调休"


def test_spring_festival_2026(cal: WorkdayCalendar) -> None:
    for offset in range(9):
        info = cal.day(date(2026, 2, 15) + timedelta(days=offset))
        assert info.kind is DayKind.HOLIDAY
        assert info.name == "春节"
        assert not cal.is_workday(info.day)
    assert cal.is_workday(date(2026, 2, 24))


def test_ordinary_days(cal: WorkdayCalendar) -> None:
    assert cal.day(date(2026, 3, 3)).kind is DayKind.WORKDAY
    assert cal.day(date(2026, 3, 7)).kind is DayKind.WEEKEND
    assert cal.day(date(2026, 3, 7)).name is None


def test_provisional_2027(cal: WorkdayCalendar) -> None:
    assert not cal.is_official(2027)
    assert cal.is_official(2026)
    expected = {
        date(2027, 1, 1): "元旦",
        date(2027, 2, 5): "春节",  # 除夕
        date(2027, 2, 6): "春节",
        date(2027, 2, 7): "春节",
        date(2027, 2, 8): "春节",
        date(2027, 4, 5): "清明",
        date(2027, 5, 1): "劳动节",
        date(2027, 5, 2): "劳动节",
        date(2027, 6, 9): "端午",
        date(2027, 9, 15): "中秋",
        date(2027, 10, 1): "国庆节",
        date(2027, 10, 2): "国庆节",
        date(2027, 10, 3): "国庆节",
    }
    assert dict(provisional_holidays(2027)) == expected
    for day, name in expected.items():
        info = cal.day(day)
        assert (info.kind, info.name, info.provisional, info.source) == (
            DayKind.HOLIDAY,
            name,
            True,
            "provisional",
        )
    assert cal.day(date(2027, 2, 9)).kind is DayKind.WORKDAY
    assert cal.day(date(2027, 1, 2)).kind is DayKind.WEEKEND
    assert not any(
        cal.day(date(2027, 1, 1) + timedelta(days=k)).kind is DayKind.MAKEUP_WORKDAY
        for k in range(365)
    )


def test_provisional_festivals_sharing_a_day() -> None:
    assert provisional_holidays(2028)[date(2028, 10, 3)] == "中秋、国庆节"


# --- counting --------------------------------------------------------------------


def test_zero_working_days_is_end_of_the_same_day(cal: WorkdayCalendar) -> None:
    deadline = cal.add_working_days(at("2026-02-15T10:00:00+08:00"), 0)
    assert deadline.at == end_of("2026-02-15")
    assert not deadline.provisional


def test_negative_working_days_rejected(cal: WorkdayCalendar) -> None:
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_days(at("2026-02-13T17:00:00+08:00"), -1)


def test_naive_datetime_rejected(cal: WorkdayCalendar) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.add_working_days(datetime(2026, 2, 13, 17), 2)
    with pytest.raises(ValueError, match="timezone-aware"):
        cal.working_days_between(datetime(2026, 2, 13, 17), datetime(2026, 2, 20, tzinfo=TZ))


def test_day_is_taken_in_shanghai(cal: WorkdayCalendar) -> None:
    # 17:00 UTC Friday is already Saturday 01:00 in Shanghai, a make-up workday
    # that is then not counted.
    deadline = cal.add_working_days(datetime(2026, 2, 13, 17, tzinfo=UTC), 1)
    assert deadline.at == end_of("2026-02-24")


def test_december_10_2026_stays_official(cal: WorkdayCalendar) -> None:
    deadline = cal.add_working_days(datetime(2026, 12, 10, 9, tzinfo=TZ), 15)
    assert deadline.at == end_of("2026-12-31")
    assert not deadline.provisional


def test_deadline_across_year_end(cal: WorkdayCalendar) -> None:
    # 2025-12-31 Wed; 2026-01-01..03 off, 2026-01-04 (Sun) a make-up day.
    deadline = cal.add_working_days(at("2025-12-31T12:00:00+08:00"), 2)
    assert deadline.at == end_of("2026-01-05")
    assert not deadline.provisional


def test_provisional_only_when_a_counted_day_is_provisional(cal: WorkdayCalendar) -> None:
    # The deadline stays inside official 2026 although the start is its last day.
    assert not cal.add_working_days(at("2026-12-30T09:00:00+08:00"), 1).provisional
    assert cal.add_working_days(at("2026-12-31T09:00:00+08:00"), 1).provisional


def test_working_days_between(cal: WorkdayCalendar) -> None:
    start = at("2026-02-13T17:00:00+08:00")
    assert cal.working_days_between(start, at("2026-02-24T08:00:00+08:00")) == 2
    assert cal.working_days_between(start, at("2026-02-13T23:00:00+08:00")) == 0
    assert cal.working_days_between(at("2026-02-24T08:00:00+08:00"), start) == -2
    # Across a year boundary, official into provisional.
    assert (
        cal.working_days_between(at("2026-12-31T09:00:00+08:00"), at("2027-01-08T09:00:00+08:00"))
        == 5
    )


def test_working_days_between_agrees_with_add(cal: WorkdayCalendar) -> None:
    for offset in range(0, 800, 7):
        start = datetime(2025, 6, 1, 12, tzinfo=TZ) + timedelta(days=offset)
        for n in (0, 1, 2, 15, 25):
            deadline = cal.add_working_days(start, n)
            assert cal.working_days_between(start, deadline.at) == n
            assert cal.is_workday(deadline.at.date()) or n == 0


def test_month(cal: WorkdayCalendar) -> None:
    days = cal.month(2026, 2)
    assert [d.day for d in days] == [date(2026, 2, k) for k in range(1, 29)]
    assert days[13].kind is DayKind.MAKEUP_WORKDAY
    assert sum(d.is_workday for d in days) == 16  # 14 weekdays + Feb 14, 28


# --- the operator file --------------------------------------------------------------

VALID = """\
year: 2027
source: 国务院办公厅通知
holidays:
  - {date: 2027-01-01, name: 元旦}
  - {from: 2027-02-05, to: 2027-02-11, name: 春节}
makeup_workdays:
  - {date: 2027-02-14, name: 春节调休}
  - {date: 2027-02-20}
"""


def test_valid_file() -> None:
    [data] = parse_calendar_yaml(VALID)
    assert data.year == 2027
    assert data.source == "imported"
    assert data.source_document == "国务院办公厅通知"
    assert len(data.holidays) == 8
    assert data.holidays[date(2027, 2, 8)] == "春节"
    assert data.makeup_workdays == {date(2027, 2, 14): "春节调休", date(2027, 2, 20): "调休上班"}


def test_several_years_in_one_file() -> None:
    text = VALID + "---\nyear: 2028\nholidays:\n  - {date: 2028-01-01, name: 元旦}\n"
    assert [d.year for d in parse_calendar_yaml(text)] == [2027, 2028]


def test_example_file_is_valid() -> None:
    [data] = parse_calendar_yaml(EXAMPLE_2027.read_text(encoding="utf-8"))
    assert data.year == 2027
    assert "EXAMPLE" in (data.source_document or "")


def problems(text: str) -> list[str]:
    with pytest.raises(CalendarFileError) as info:
        parse_calendar_yaml(text, "cal.yaml")
    return str(info.value).splitlines()


def test_date_outside_the_year() -> None:
    assert problems(VALID.replace("2027-01-01", "2026-12-31")) == [
        "cal.yaml:4:12: holidays[0].date: 2026-12-31 is outside the document's year 2027"
    ]


def test_range_reaching_outside_the_year() -> None:
    [line] = problems(VALID.replace("to: 2027-02-11", "to: 2028-01-02"))
    assert line.startswith("cal.yaml:5:") and "holidays[1].to" in line and "outside" in line


def test_day_both_holiday_and_makeup() -> None:
    [line] = problems(VALID.replace("{date: 2027-02-20}", "{date: 2027-02-06}"))
    assert line.startswith("cal.yaml:8:")
    assert "2027-02-06 is also listed as a holiday on line 5" in line


def test_makeup_not_on_a_weekend() -> None:
    [line] = problems(VALID.replace("{date: 2027-02-20}", "{date: 2027-02-22}"))
    assert line == (
        "cal.yaml:8:5: makeup_workdays: 2027-02-22 is a Monday; "
        "a make-up workday must be a Saturday or Sunday"
    )


def test_overlapping_and_duplicate_holidays() -> None:
    text = VALID.replace(
        "  - {date: 2027-01-01, name: 元旦}\n",
        "  - {date: 2027-02-07, name: 元旦}\n  - {from: 2027-02-09, to: 2027-02-12, name: x}\n",
    )
    # The 春节 range clashes with both earlier entries but is one mistake.
    assert problems(text) == [
        "cal.yaml:6:5: holidays: 2027-02-07 is already listed as a holiday on line 4"
    ]
    dup = VALID.replace("{date: 2027-02-20}", "{date: 2027-02-14}")
    assert any(
        "2027-02-14 is already listed as a make-up workday on line 7" in p for p in problems(dup)
    )


def test_unknown_and_duplicate_keys() -> None:
    [line] = problems(VALID.replace("source:", "sauce:"))
    assert line.startswith("cal.yaml:2:1: document.sauce: unknown key")
    [line] = problems(
        VALID.replace("{date: 2027-01-01, name: 元旦}", "{date: 2027-01-01, name: 元旦, off: yes}")
    )
    assert "holidays[0].off: unknown key" in line
    [line] = problems(VALID + "year: 2028\n")
    assert "cal.yaml:9:1: document.year: duplicate key (first on line 1)" == line


def test_missing_and_malformed_fields() -> None:
    assert any("year: missing" in p for p in problems(VALID.replace("year: 2027\n", "")))
    assert any(
        "holidays[0].name: missing" in p for p in problems(VALID.replace(", name: 元旦", ""))
    )
    assert any(
        "expected a date written YYYY-MM-DD" in p
        for p in problems(VALID.replace("2027-01-01", "2027/01/01"))
    )
    assert any(
        "2027-02-30 is not a calendar date" in p
        for p in problems(VALID.replace("2027-01-01", "2027-02-30"))
    )
    assert any(
        "from 2027-02-11 is after to 2027-02-05" in p
        for p in problems(
            VALID.replace("from: 2027-02-05, to: 2027-02-11", "from: 2027-02-11, to: 2027-02-05")
        )
    )
    assert any("no year found" in p for p in problems("# nothing\n"))


def test_same_year_twice() -> None:
    [line] = problems(VALID + "---\n" + VALID)
    assert "year 2027 appears twice (first on line 1)" in line


def test_yaml_syntax_error_has_a_location() -> None:
    [line] = problems("year: 2027\nholidays: [\n")
    assert line.startswith("cal.yaml:3:") and "YAML" in line


def test_imported_year_replaces_builtin_wholesale() -> None:
    custom = YearData(2026, {date(2026, 3, 2): "测试"}, {}, "imported")
    cal = WorkdayCalendar([custom])
    assert cal.day(date(2026, 3, 2)).kind is DayKind.HOLIDAY
    assert cal.day(date(2026, 2, 16)).kind is DayKind.WORKDAY  # built-in 春节 gone
    assert cal.day(date(2026, 2, 14)).kind is DayKind.WEEKEND
    assert cal.day(date(2026, 3, 2)).source == "imported"


def test_inconsistent_year_data_rejected() -> None:
    with pytest.raises(ValueError, match="another year"):
        WorkdayCalendar([YearData(2027, {date(2026, 1, 1): "x"}, {}, "imported")])


# --- the command line -----------------------------------------------------------------


def test_cli_due_json_without_a_database(monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 1 refuses at once, so this stays a fast, offline test.
    monkeypatch.setenv("TOUSU_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(app, ["calendar", "due", "2026-02-13T17:00", "2", "--json"])
    assert calendar_app.registered_commands  # imported for its registration on `app`
    assert result.exit_code == 0, result.output
    assert "built-in calendar only (database not reachable)" in result.stderr
    assert json.loads(result.stdout) == {
        "start": "2026-02-13T17:00:00+08:00",
        "working_days": 2,
        "deadline": "2026-02-24T23:59:59.999999+08:00",
        "provisional": False,
    }
