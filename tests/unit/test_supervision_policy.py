"""When supervision warns and reports overdue deadlines, around the 2026 holidays.

Built-in 2026: Mid-Autumn 09-25..27 off, National Day 10-01..07 off, make-up
workdays Sun 09-20 and Sat 10-10; a normal week is 2026-03-02..06.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from tousu.services.metrics.supervision import (
    SUPERVISED,
    Level,
    Notice,
    due_notices,
    notice_command_id,
    overdue_working_days,
    warning_at,
)
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.events.types import DeadlineKind

CAL = WorkdayCalendar()
COMPLAINT = uuid.UUID("00000000-0000-0000-0000-000000000001")


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=TZ)


def at(y: int, m: int, d: int, hour: int = 10) -> datetime:
    return datetime(y, m, d, hour, tzinfo=TZ)


# -- the previous working day ----------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "previous"),
    [
        (date(2026, 3, 5), date(2026, 3, 4)),  # Thursday → Wednesday
        (date(2026, 3, 9), date(2026, 3, 6)),  # Monday → Friday
        (date(2026, 3, 8), date(2026, 3, 6)),  # from a Sunday
        (date(2026, 10, 8), date(2026, 9, 30)),  # over National Day
        (date(2026, 10, 12), date(2026, 10, 10)),  # the make-up Saturday
        (date(2026, 9, 28), date(2026, 9, 24)),  # over Mid-Autumn
        (date(2026, 9, 21), date(2026, 9, 20)),  # the make-up Sunday
        (date(2027, 1, 4), date(2026, 12, 31)),  # over provisional New Year 2027
    ],
)
def test_previous_workday(day: date, previous: date) -> None:
    assert CAL.previous_workday(day) == previous


# -- when the warning goes out ----------------------------------------------------------
@pytest.mark.parametrize(
    ("due", "warn"),
    [
        (end_of(2026, 3, 6), end_of(2026, 3, 5)),
        (end_of(2026, 3, 9), end_of(2026, 3, 6)),
        # The example of docs/design.md, "Deadlines" (accepted Fri 09-18 → due Thu 10-15).
        (end_of(2026, 10, 15), end_of(2026, 10, 14)),
        (end_of(2026, 10, 12), end_of(2026, 10, 10)),
        # The first working day after National Day: warned before the holiday.
        (end_of(2026, 10, 8), end_of(2026, 9, 30)),
    ],
)
def test_warning_at_the_end_of_the_previous_working_day(due: datetime, warn: datetime) -> None:
    assert warning_at(due, CAL) == warn
    # The same instant written in UTC names the same Shanghai day.
    assert warning_at(due.astimezone(UTC), CAL) == warn


def test_deadlines_are_the_end_of_a_working_day() -> None:
    # What warning_at assumes of the deadlines it is given.
    due = CAL.add_working_days(at(2026, 9, 18), 15).at
    assert due == end_of(2026, 10, 15)
    assert warning_at(due, CAL) == CAL.add_working_days(at(2026, 9, 18), 14).at


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError):
        warning_at(datetime(2026, 10, 15, 23, 59), CAL)
    with pytest.raises(ValueError):
        due_notices({DeadlineKind.FEEDBACK: end_of(2026, 10, 15)}, datetime(2026, 10, 14), CAL)


# -- which notices are due ------------------------------------------------------------
FEEDBACK_DUE = end_of(2026, 10, 15)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (at(2026, 10, 14, 12), []),
        (end_of(2026, 10, 14) - timedelta(microseconds=1), []),
        (end_of(2026, 10, 14), [Level.WARNING]),
        (at(2026, 10, 15, 9), [Level.WARNING]),
        (end_of(2026, 10, 15), [Level.WARNING]),  # the deadline itself is still in time
        (end_of(2026, 10, 15) + timedelta(microseconds=1), [Level.OVERDUE]),
        (at(2026, 11, 2), [Level.OVERDUE]),  # no late warning, only the lapse
    ],
)
def test_warning_then_overdue(now: datetime, expected: list[Level]) -> None:
    notices = due_notices({DeadlineKind.FEEDBACK: FEEDBACK_DUE}, now, CAL)
    assert notices == [Notice(DeadlineKind.FEEDBACK, level, FEEDBACK_DUE) for level in expected]


def test_a_deadline_after_national_day_is_warned_during_the_holiday() -> None:
    due = end_of(2026, 10, 8)
    assert due_notices({DeadlineKind.ACCEPTANCE: due}, at(2026, 9, 30), CAL) == []
    assert due_notices({DeadlineKind.ACCEPTANCE: due}, at(2026, 10, 3), CAL) == [
        Notice(DeadlineKind.ACCEPTANCE, Level.WARNING, due)
    ]


def test_several_deadlines_in_a_fixed_order_and_no_return_window() -> None:
    pending = {
        DeadlineKind.FOLLOW_UP: end_of(2026, 3, 9),
        DeadlineKind.RETURN: end_of(2026, 3, 4),
        DeadlineKind.FEEDBACK: end_of(2026, 3, 20),
        DeadlineKind.CLAIM: end_of(2026, 3, 3),
        DeadlineKind.ACCEPTANCE: end_of(2026, 3, 2),
    }
    assert DeadlineKind.RETURN not in SUPERVISED
    # Saturday: the follow-up due Monday was warned at the end of Friday.
    assert due_notices(pending, at(2026, 3, 7), CAL) == [
        Notice(DeadlineKind.ACCEPTANCE, Level.OVERDUE, end_of(2026, 3, 2)),
        Notice(DeadlineKind.CLAIM, Level.OVERDUE, end_of(2026, 3, 3)),
        Notice(DeadlineKind.FOLLOW_UP, Level.WARNING, end_of(2026, 3, 9)),
    ]
    assert due_notices({}, at(2026, 3, 6), CAL) == []


# -- the command id -------------------------------------------------------------------
NOTICE = Notice(DeadlineKind.FEEDBACK, Level.WARNING, FEEDBACK_DUE)


def test_the_command_id_is_fixed_for_good() -> None:
    # Pinned: a changed id would make every watcher resend every notice.
    assert notice_command_id(COMPLAINT, NOTICE, 1) == uuid.UUID(
        "b12938f0-50e1-591f-a5c6-da8861f9bf2b"
    )
    same_instant = Notice(NOTICE.kind, NOTICE.level, FEEDBACK_DUE.astimezone(UTC))
    assert notice_command_id(COMPLAINT, same_instant, 1) == notice_command_id(COMPLAINT, NOTICE, 1)


def test_the_command_id_tells_notices_apart() -> None:
    ids = {
        notice_command_id(COMPLAINT, NOTICE, 1),
        notice_command_id(COMPLAINT, NOTICE, 2),
        notice_command_id(uuid.UUID(int=2), NOTICE, 1),
        notice_command_id(COMPLAINT, Notice(NOTICE.kind, Level.OVERDUE, FEEDBACK_DUE), 1),
        notice_command_id(COMPLAINT, Notice(DeadlineKind.CLAIM, NOTICE.level, FEEDBACK_DUE), 1),
        notice_command_id(COMPLAINT, Notice(NOTICE.kind, NOTICE.level, end_of(2026, 10, 16)), 1),
    }
    assert len(ids) == 6


# -- how late ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "days"),
    [
        (at(2026, 9, 30, 12), 0),  # not due yet
        (end_of(2026, 9, 30), 0),
        (at(2026, 10, 1), 0),  # overdue, but no working day has passed
        (at(2026, 10, 7, 23), 0),
        (at(2026, 10, 8, 0), 1),  # the first working day after it counts at once
        (at(2026, 10, 9), 2),
        (at(2026, 10, 10), 3),  # the make-up Saturday
        (at(2026, 10, 11), 3),
        (at(2026, 10, 12), 4),
    ],
)
def test_overdue_working_days_over_national_day(now: datetime, days: int) -> None:
    assert overdue_working_days(end_of(2026, 9, 30), now, CAL) == days


@pytest.mark.parametrize(
    ("now", "days"),
    [(at(2026, 3, 6), 0), (at(2026, 3, 7), 0), (at(2026, 3, 8), 0), (at(2026, 3, 9), 1),
     (at(2026, 3, 10), 2)],
)  # fmt: skip
def test_overdue_working_days_in_a_normal_week(now: datetime, days: int) -> None:
    assert overdue_working_days(end_of(2026, 3, 6), now, CAL) == days
