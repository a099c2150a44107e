"""Recalculating provisional deadlines when a year's official schedule arrives.

2027 is provisional in the built-in data: weekends plus the statutory days, so
the Spring Festival is 2027-02-05..08 and no make-up day. The "official" 2027
below is invented: 02-06..02-13 off and Sunday 02-14 worked, which moves every
deadline counting across it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from tests.domain_kit import (
    CALENDAR,
    HANDLER,
    NOW,
    OPERATOR,
    SUPERVISOR,
    SYSTEM,
    Case,
    ReplayExecutor,
)
from tousu.shared.calendar import TZ, WorkdayCalendar, YearData
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext, Forbidden, NotFound, Status
from tousu.shared.events import Actor
from tousu.shared.events import types as ev
from tousu.shared.events.types import Channel, Complainant, DeadlineKind
from tousu.shared.store.memory import InMemoryEventStore

ADMIN = Actor(id="admin-zhou", role="admin")
REASON = "2027年节假日安排已导入"


def _days(first: date, last: date, name: str) -> dict[date, str]:
    return {first + timedelta(n): name for n in range((last - first).days + 1)}


OFFICIAL_2027 = YearData(
    2027,
    {
        **_days(date(2027, 1, 1), date(2027, 1, 3), "元旦"),
        **_days(date(2027, 2, 6), date(2027, 2, 13), "春节"),
        **_days(date(2027, 4, 3), date(2027, 4, 5), "清明"),
        **_days(date(2027, 5, 1), date(2027, 5, 5), "劳动节"),
        **_days(date(2027, 6, 9), date(2027, 6, 11), "端午"),
        **_days(date(2027, 9, 15), date(2027, 9, 17), "中秋"),
        **_days(date(2027, 10, 1), date(2027, 10, 7), "国庆节"),
    },
    {date(2027, 2, 14): "春节调休"},
    "imported",
    "测试用：假设的2027年节假日安排",
)
OFFICIAL = CALENDAR.with_imported([OFFICIAL_2027])


def end_of(y: int, m: int, d: int) -> datetime:
    return datetime(y, m, d, 23, 59, 59, 999999, tzinfo=TZ)


@dataclass
class CalendarCase(Case):
    """A case whose decisions use ``calendar``, swapped when the import lands."""

    calendar: WorkdayCalendar = CALENDAR

    def context(self) -> DecisionContext:
        return DecisionContext(calendar=self.calendar, now=self.now or self.recording)


def late_january(calendar: WorkdayCalendar = CALENDAR) -> CalendarCase:
    """Received Wed 2027-01-27 10:00, accepted 11:00, routed 12:00, claimed 13:00."""
    case = CalendarCase(at=datetime(2027, 1, 27, 9, 0, tzinfo=TZ), calendar=calendar)
    case.submit().accept().route().claim()
    return case


def recalculate(case: CalendarCase, actor: Actor = SYSTEM) -> list[ev.DeadlineRecalculated]:
    events = case.do(c.RecalculateDeadlines, actor, reason=REASON)
    assert all(isinstance(e, ev.DeadlineRecalculated) for e in events)
    return [e for e in events if isinstance(e, ev.DeadlineRecalculated)]


# -- anchors ------------------------------------------------------------------------
def test_each_deadline_remembers_what_it_counts_from() -> None:
    case = late_january()
    at = case.state.received_at
    assert at == datetime(2027, 1, 27, 10, 0, tzinfo=TZ)
    assert case.state.deadline_anchors == {
        DeadlineKind.ACCEPTANCE: at,
        DeadlineKind.FEEDBACK: at + timedelta(hours=1),
        DeadlineKind.CLAIM: at + timedelta(hours=2),
        DeadlineKind.RETURN: at + timedelta(hours=2),
    }
    case.do(c.RequestExtension, HANDLER, working_days=5, reason="需第三方检测")
    case.do(c.DecideExtension, SUPERVISOR, approved=True)
    # The extended deadline still counts from the acceptance, with 20 days.
    assert case.state.deadline_anchors[DeadlineKind.FEEDBACK] == at + timedelta(hours=1)
    assert case.state.deadlines[DeadlineKind.FEEDBACK].working_days == 20
    case.handle().resolve().feedback()
    fed_back = case.at
    assert case.state.deadline_anchors[DeadlineKind.FOLLOW_UP] == fed_back
    case.follow_up("dissatisfied")
    assert case.state.status == Status.REOPENED
    assert case.state.deadline_anchors[DeadlineKind.FEEDBACK] == case.at


# -- the official year arrives ------------------------------------------------------
def test_provisional_deadlines_become_firm_and_move() -> None:
    case = late_january()
    deadlines = case.state.deadlines
    assert all(d.provisional for d in deadlines.values())
    assert deadlines[DeadlineKind.ACCEPTANCE].due_at == end_of(2027, 1, 29)
    # Provisionally 02-05..08 are off: the 15th working day is Fri 02-19.
    assert deadlines[DeadlineKind.FEEDBACK].due_at == end_of(2027, 2, 19)
    promised = case.state.promised_feedback

    case.calendar = OFFICIAL
    events = recalculate(case)

    by_kind = {e.current.kind: e for e in events}
    # Same days, now firm: recorded all the same, so nothing stays provisional.
    assert set(by_kind) == {
        DeadlineKind.ACCEPTANCE,
        DeadlineKind.CLAIM,
        DeadlineKind.RETURN,
        DeadlineKind.FEEDBACK,
    }
    acceptance = by_kind[DeadlineKind.ACCEPTANCE]
    assert acceptance.current.due_at == acceptance.previous.due_at == end_of(2027, 1, 29)
    assert acceptance.previous.provisional and not acceptance.current.provisional
    # Officially 02-05 is worked, 02-06..13 off and Sun 02-14 worked: Tue 02-23.
    feedback = by_kind[DeadlineKind.FEEDBACK]
    assert feedback.previous == deadlines[DeadlineKind.FEEDBACK]
    assert feedback.current == ev.Deadline(
        kind=DeadlineKind.FEEDBACK,
        due_at=end_of(2027, 2, 23),
        working_days=15,
        provisional=False,
    )
    assert all(e.reason == REASON for e in events)
    assert case.envelopes[-1].department == "water"

    assert case.state.deadlines[DeadlineKind.FEEDBACK] == feedback.current
    assert not any(d.provisional for d in case.state.deadlines.values())
    # What the acceptance notice told the complainant stays on record.
    assert case.state.promised_feedback == promised
    assert promised is not None and promised.due_at == end_of(2027, 2, 19)
    assert case.state.status == Status.CLAIMED


def test_an_extended_deadline_recalculates_as_if_extended_on_the_new_calendar() -> None:
    def extended(case: CalendarCase) -> CalendarCase:
        case.do(c.RequestExtension, HANDLER, working_days=5, reason="需第三方检测")
        case.do(c.DecideExtension, SUPERVISOR, approved=True)
        return case

    provisional = extended(late_january())
    assert provisional.state.deadlines[DeadlineKind.FEEDBACK].due_at == end_of(2027, 2, 26)
    provisional.calendar = OFFICIAL
    (feedback,) = [e for e in recalculate(provisional) if e.current.kind == DeadlineKind.FEEDBACK]

    official = extended(late_january(OFFICIAL)).state.deadlines[DeadlineKind.FEEDBACK]
    assert official.due_at == end_of(2027, 3, 2)
    assert feedback.current == official
    assert provisional.state.deadlines[DeadlineKind.FEEDBACK] == official


def test_a_reopened_round_counts_from_the_reopening() -> None:
    case = late_january()
    case.handle().resolve().feedback()
    reopened_at = datetime(2027, 2, 3, 10, 0, tzinfo=TZ)
    case.do(c.RecordFollowUp, OPERATOR, satisfaction="dissatisfied", occurred_at=reopened_at)
    assert case.state.round == 2
    assert case.state.deadlines[DeadlineKind.FEEDBACK].due_at == end_of(2027, 2, 26)
    case.calendar = OFFICIAL
    (feedback,) = [e for e in recalculate(case) if e.current.kind == DeadlineKind.FEEDBACK]
    assert feedback.current.due_at == end_of(2027, 3, 2)
    assert not feedback.current.provisional


def test_a_firm_deadline_is_left_alone() -> None:
    # Received Mon 2026-12-28: acceptance due Wed 12-30, all in official 2026;
    # accepted Tue 12-29: 15 working days reach provisional January 2027.
    case = CalendarCase(at=datetime(2026, 12, 28, 9, 0, tzinfo=TZ))
    case.submit(occurred_at=datetime(2026, 12, 28, 10, 0, tzinfo=TZ))
    case.do(
        c.AcceptComplaint,
        OPERATOR,
        category="service_quality",
        occurred_at=datetime(2026, 12, 29, 10, 0, tzinfo=TZ),
    )
    acceptance = case.state.deadlines[DeadlineKind.ACCEPTANCE]
    assert not acceptance.provisional
    assert case.state.deadlines[DeadlineKind.FEEDBACK].provisional

    case.calendar = OFFICIAL
    (event,) = recalculate(case, ADMIN)
    assert event.current.kind == DeadlineKind.FEEDBACK
    # The invented schedule changes nothing in January but the certainty.
    assert event.current.due_at == event.previous.due_at == end_of(2027, 1, 20)
    assert not event.current.provisional
    assert case.state.deadlines[DeadlineKind.ACCEPTANCE] == acceptance
    assert case.envelopes[-1].department is None  # not routed yet


def test_nothing_changes_while_the_calendar_is_the_same() -> None:
    case = late_january()
    assert recalculate(case) == []


def test_a_second_run_finds_nothing_to_do() -> None:
    case = late_january()
    case.calendar = OFFICIAL
    assert recalculate(case)
    version = case.state.version
    assert recalculate(case) == []
    assert case.state.version == version


@pytest.mark.parametrize("satisfaction", ["satisfied", None], ids=["closed", "rejected"])
def test_a_finished_complaint_gets_nothing(satisfaction: str | None) -> None:
    case = CalendarCase(at=datetime(2027, 1, 27, 9, 0, tzinfo=TZ))
    case.submit()
    if satisfaction is None:
        case.do(c.RejectComplaint, OPERATOR, reason="不属于受理范围", suggestion="请向法院起诉")
    else:
        case.accept().route().claim().handle().resolve().feedback().follow_up(satisfaction)
    assert case.state.status in {Status.CLOSED, Status.REJECTED}
    assert any(d.provisional for d in case.state.deadlines.values())
    case.calendar = OFFICIAL
    assert recalculate(case) == []


@pytest.mark.parametrize("actor", [HANDLER, OPERATOR, SUPERVISOR], ids=lambda a: a.role)
def test_only_the_system_or_an_administrator_may_recalculate(actor: Actor) -> None:
    case = late_january()
    case.calendar = OFFICIAL
    before = case.state
    with pytest.raises(Forbidden):
        recalculate(case, actor)
    assert case.state == before


def test_no_such_complaint() -> None:
    with pytest.raises(NotFound):
        recalculate(CalendarCase())


def test_the_reason_is_required() -> None:
    with pytest.raises(ValueError):
        c.RecalculateDeadlines(actor=SYSTEM, occurred_at=NOW, reason="")
    with pytest.raises(ValueError):
        c.RecalculateDeadlines(actor=SYSTEM, occurred_at=NOW, reason="x" * 501)


async def test_the_executor_accepts_a_decision_with_no_events() -> None:
    store = InMemoryEventStore()
    executor = ReplayExecutor(store)
    complaint_id = uuid.uuid4()
    at = datetime(2027, 1, 27, 10, 0, tzinfo=TZ)
    submit = c.SubmitComplaint(
        actor=OPERATOR,
        occurred_at=at,
        tracking_no="TS2701-0001-00",
        channel=Channel.PHONE,
        complainant=Complainant(name="张三", phone="13800000000"),
        subject="自来水停水未通知",
        description="小区连续两天停水。",
    )
    await executor.execute(complaint_id, submit)
    recalc = c.RecalculateDeadlines(
        actor=SYSTEM, occurred_at=at, reason=REASON, command_id=uuid.uuid4()
    )
    outcome = await executor.execute(complaint_id, recalc)
    assert outcome.events == []
    assert outcome.state.version == 1
    again = await executor.execute(complaint_id, recalc)
    assert again.events == [] and not again.repeated


# -- supervision names its deadline ---------------------------------------------------
def test_supervision_records_the_deadline_it_is_about() -> None:
    case = late_january()
    (raised,) = case.do(c.RaiseSupervision, SYSTEM, kind="warning", deadline=DeadlineKind.FEEDBACK)
    assert isinstance(raised, ev.SupervisionRaised)
    assert raised.deadline == DeadlineKind.FEEDBACK
    (chase,) = case.do(c.RaiseSupervision, SUPERVISOR, kind="chase")
    assert isinstance(chase, ev.SupervisionRaised) and chase.deadline is None
