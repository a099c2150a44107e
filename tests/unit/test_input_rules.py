"""The shared value types: text without control characters, instants inside
the calendar's years, on every command and channel submission."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from tests.domain_kit import HANDLER, OPERATOR
from tousu.services.gateway.clean_query import refused_parameter
from tousu.services.gateway.complaints.bodies import body_model
from tousu.services.intake.bad_input import RefusedSubmission, parse_submission
from tousu.services.metrics.supervision.policy import overdue_working_days
from tousu.shared.calendar import FIRST_YEAR, LAST_YEAR, TZ, WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.inputs import Instant, Text
from tousu.shared.events.types import Complainant

TEXT = TypeAdapter(Text)
INSTANT = TypeAdapter(Instant)


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85"])
def test_control_characters_are_refused(char: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TEXT.validate_python(f"水管{char}漏水")
    error = caught.value.errors()[0]
    assert error["type"] == "control_character"
    assert f"U+{ord(char):04X}" in error["msg"]


def test_tab_and_line_breaks_are_text() -> None:
    typed = "第一行\r\n第二行\n\t缩进"
    assert TEXT.validate_python(typed) == typed


@pytest.mark.parametrize(
    "instant",
    [
        datetime(108, 3, 1, tzinfo=UTC),
        datetime(1900, 1, 1, tzinfo=UTC),
        datetime(FIRST_YEAR - 1, 12, 31, 12, tzinfo=TZ),
        datetime(LAST_YEAR + 1, 1, 1, tzinfo=TZ),
        datetime(9999, 12, 31, tzinfo=UTC),
    ],
)
def test_instants_outside_the_calendar_are_refused(instant: datetime) -> None:
    with pytest.raises(ValidationError) as caught:
        INSTANT.validate_python(instant)
    assert caught.value.errors()[0]["type"] == "instant_out_of_range"


@pytest.mark.parametrize(
    "instant",
    [datetime(FIRST_YEAR, 1, 1, tzinfo=TZ), datetime(LAST_YEAR, 12, 31, 23, 59, tzinfo=TZ)],
)
def test_instants_at_the_bounds_are_kept(instant: datetime) -> None:
    assert INSTANT.validate_python(instant) == instant


def test_the_first_year_has_an_official_schedule() -> None:
    # The bound is where the shipped official schedules begin.
    assert WorkdayCalendar().is_official(FIRST_YEAR)
    assert not WorkdayCalendar().is_official(FIRST_YEAR - 1)


def _submit(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "actor": OPERATOR.model_dump(),
        "occurred_at": "2026-03-02T09:00:00+08:00",
        "channel": "letter",
        "tracking_no": "TS2603-1",
        "complainant": {"name": "王五", "address": "幸福路1号"},
        "subject": "停水",
        "description": "连续两天停水",
    }
    return base | changes


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"occurred_at": "1900-01-01T00:00:00+08:00"}, ("occurred_at",)),
        ({"occurred_at": "0108-01-01T00:00:00+00:00"}, ("occurred_at",)),
        ({"happened_at": "1999-05-01T00:00:00+08:00"}, ("happened_at",)),
        ({"subject": "停\u0000水"}, ("subject",)),
        ({"description": "a\x1bb"}, ("description",)),
        ({"complainant": {"name": "王\u0000五"}}, ("complainant", "name")),
        ({"complainant": {"address": "路\x07"}}, ("complainant", "address")),
    ],
)
def test_a_command_names_the_refused_field(changes: dict[str, Any], field: tuple[str, ...]) -> None:
    """What a NATS command meets: the service validates the JSON it received."""
    raw = TypeAdapter(dict[str, Any]).dump_json(_submit(**changes))
    with pytest.raises(ValidationError) as caught:
        c.SubmitComplaint.model_validate_json(raw)
    assert [e["loc"] for e in caught.value.errors()] == [field]


def test_staff_commands_and_their_bodies_refuse_control_characters() -> None:
    when = datetime(2026, 3, 2, 9, tzinfo=TZ)
    cases: list[tuple[type[c.Command], dict[str, Any]]] = [
        (c.RejectComplaint, {"reason": "重复\x00", "suggestion": "无"}),
        (c.ReopenComplaint, {"reason": "\x00"}),
        (c.ProposePlan, {"measures": [{"measure": "修\x00", "owner": "水务"}]}),
        (c.RecordInvestigation, {"findings": "ok", "methods": ["走访\x0c"]}),
    ]
    for command, fields in cases:
        with pytest.raises(ValidationError) as caught:
            command(actor=HANDLER, occurred_at=when, **fields)
        assert caught.value.errors()[0]["type"] == "control_character", command
        with pytest.raises(ValidationError):
            body_model(command).model_validate(fields)
    with pytest.raises(ValidationError) as caught:
        body_model(c.ResolveComplaint).model_validate(
            {"result": "ok", "basis": "ok", "occurred_at": "1900-01-01T09:00:00+08:00"}
        )
    assert caught.value.errors()[0]["loc"] == ("occurred_at",)


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"received_at": "1900-03-01T09:00:00+08:00"}, "received_at"),
        ({"received_at": "0108-03-01T09:00:00+08:00"}, "received_at"),
        ({"location": "\u0000"}, "location"),
    ],
)
def test_a_channel_submission_is_refused_naming_the_field(
    changes: dict[str, Any], where: str
) -> None:
    body = _submit(**changes)
    for gateway_only in ("actor", "occurred_at", "tracking_no"):
        body.pop(gateway_only)
    raw = TypeAdapter(dict[str, Any]).dump_json(body)
    with pytest.raises(RefusedSubmission, match=where):
        parse_submission(raw, "letter", 100_000)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (b"q=%00", "query.q"),
        (b"department=water&department=%00x", "query.department"),
        (b"service_request_id=%1b", "query.service_request_id"),
        (b"a%00=1", "query.a\x00"),
    ],
)
def test_control_characters_in_a_query_name_the_parameter(query: bytes, field: str) -> None:
    refused = refused_parameter({"query_string": query, "path": "/x"})
    assert refused is not None and refused[0] == field


def test_a_clean_query_passes() -> None:
    assert refused_parameter({"query_string": b"q=%E6%B0%B4+%0A&x=", "path": "/x"}) is None


def test_a_plain_complainant_is_checked_too() -> None:
    """Code that builds the event's Complainant and passes it on is checked
    like JSON is."""
    when = datetime(2026, 3, 2, 9, tzinfo=TZ)
    with pytest.raises(ValidationError) as caught:
        c.SubmitComplaint(
            **_submit(occurred_at=when, complainant=Complainant(name="王\x00五", phone="1"))
        )
    assert [e["loc"] for e in caught.value.errors()] == [("complainant", "name")]
    kept = c.SubmitComplaint(**_submit(occurred_at=when, complainant=Complainant(name="王五")))
    assert kept.complainant.name == "王五"


def test_years_before_the_calendar_count_their_weekdays() -> None:
    """Before the first year, a stored due date counts Mondays to Fridays, in
    one step; from the first year on, the official schedule."""
    calendar = WorkdayCalendar()
    start = datetime(1999, 12, 31, 12, tzinfo=TZ)
    first = datetime(FIRST_YEAR, 1, 1, tzinfo=TZ)
    plain = sum(
        1
        for ordinal in range(start.toordinal() + 1, first.toordinal())
        if date.fromordinal(ordinal).weekday() < 5
    )
    end = datetime(FIRST_YEAR, 1, 31, 12, tzinfo=TZ)
    official = calendar.working_days_between(first - timedelta(days=1), end)
    assert calendar.working_days_between(start, end) == plain + official
    assert calendar.working_days_between(end, start) == -(plain + official)


def test_an_old_due_date_is_counted_once_and_quickly() -> None:
    """Each calendar year is compiled once per process and shared by every
    calendar (the gateway builds one per request); a year outside the
    calendar's range has weekends only, so a century costs no lunar
    arithmetic."""
    now = datetime(2026, 12, 7, 12, tzinfo=TZ)
    due = datetime(108, 1, 5, 23, tzinfo=TZ)  # stored before instants were bounded
    overdue_working_days(due, now, WorkdayCalendar())  # whatever it costs once
    started = time.perf_counter()
    for _ in range(10):
        overdue_working_days(due, now, WorkdayCalendar())
    assert time.perf_counter() - started < 0.5  # before: ~15 s per calendar
