"""Time that cannot be bent: late entries (补录) and the order of steps, in the
pure decider (shared/domain/late_entries.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from tests.domain_kit import (
    CALENDAR,
    COMPLAINANT,
    HANDLER,
    OPERATOR,
    START,
    SUPERVISOR,
    SYSTEM,
    Case,
)
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext, InvalidCommand, Status
from tousu.shared.domain.context import LateEntryRules
from tousu.shared.events import Actor
from tousu.shared.events import types as ev
from tousu.shared.events.types import Channel, Complainant, PlanMeasure

ADMIN = Actor(id="admin-he", role="admin")


def marks(case: Case) -> list[ev.LateEntryRecorded]:
    return [
        ev.LateEntryRecorded.model_validate(e.data)
        for e in case.envelopes
        if e.type == "LateEntryRecorded"
    ]


def claimed() -> Case:
    """Received Mon 03-02 09:00, accepted, routed and claimed by 13:00, each
    step recorded as it happened."""
    return Case().submit(occurred_at=START).accept().route().claim()


def refused(case: Case, command: type[c.Command], actor: Actor, **fields: object) -> str:
    """Asserts ``command`` is refused as an invalid command and nothing was
    stored; the field it names."""
    before = (case.state, len(case.envelopes))
    with pytest.raises(InvalidCommand) as info:
        case.do(command, actor, **fields)
    assert (case.state, len(case.envelopes)) == before
    return info.value.field


# -- within the windows: allowed, and marked ----------------------------------------
def test_a_step_recorded_as_it_happens_is_not_marked() -> None:
    case = claimed().handle()
    assert marks(case) == []
    # Nor within the grace for clock skew and transit (5 minutes).
    case.now = case.at + timedelta(hours=1, minutes=4)
    case.resolve()
    assert marks(case) == []


def test_a_step_recorded_later_the_same_day_is_marked() -> None:
    case = claimed()
    case.now = datetime(2026, 3, 2, 18, 0, tzinfo=TZ)  # the same day, 5 hours on
    case.investigate()  # at 13:00
    (mark,) = marks(case)
    assert mark.events == ["InvestigationRecorded"]
    assert mark.late_by_seconds == 5 * 3600
    assert (mark.window, mark.within_window) == ("working_day", True)
    assert (mark.reason, mark.approved_by) == (None, None)
    last = case.envelopes[-1]
    assert last.type == "LateEntryRecorded"
    assert (last.actor, last.occurred_at, last.department) == (HANDLER, case.at, "water")


def test_a_letter_may_be_registered_within_thirty_days() -> None:
    case = Case()
    case.now = START + timedelta(days=29)
    case.submit(Channel.LETTER, occurred_at=START)
    (mark,) = marks(case)
    assert (mark.events, mark.window, mark.within_window) == (
        ["ComplaintReceived"],
        "registration",
        True,
    )
    assert case.state.received_at == START


@pytest.mark.parametrize("channel", [Channel.LETTER, Channel.WALK_IN, Channel.PHONE])
def test_a_registration_beyond_thirty_days_needs_a_supervisor_with_a_reason(
    channel: Channel,
) -> None:
    case = Case()
    case.now = START + timedelta(days=31)
    fields = {
        "channel": channel,
        "occurred_at": START,
        "tracking_no": "TS1",
        "complainant": Complainant(name="张三", phone="13800000000", address="人民路1号"),
        "subject": "s",
        "description": "d",
    }
    assert refused(case, c.SubmitComplaint, OPERATOR, **fields) == "occurred_at"
    assert refused(case, c.SubmitComplaint, SUPERVISOR, **fields) == "late_reason"
    case.do(c.SubmitComplaint, SUPERVISOR, late_reason="信件积压，核对后补登", **fields)
    (mark,) = marks(case)
    assert (mark.window, mark.within_window) == ("registration", False)
    assert (mark.reason, mark.approved_by) == ("信件积压，核对后补登", "sup-wang")


@pytest.mark.parametrize("channel", [Channel.WEB, Channel.WECHAT])
def test_staff_register_a_web_or_wechat_complaint_with_its_real_date(channel: Channel) -> None:
    """A web or WeChat complaint that reached the organisation outside tousu
    (an e-mail to an office, a WeChat message to a staff phone) is registered
    by staff with the day it came, within the registration window; a
    complainant on the public site still cannot date anything back."""
    fields = {
        "channel": channel,
        "occurred_at": START,
        "tracking_no": "TS1",
        "complainant": Complainant(name="张三", phone="13800000000"),
        "subject": "s",
        "description": "d",
    }
    case = Case()
    case.now = START + timedelta(days=10)
    case.do(c.SubmitComplaint, OPERATOR, **fields)
    (mark,) = marks(case)
    assert (mark.window, mark.within_window, mark.approved_by) == ("registration", True, None)
    assert case.state.received_at == START
    beyond = Case()
    beyond.now = START + timedelta(days=31)
    assert refused(beyond, c.SubmitComplaint, OPERATOR, **fields) == "occurred_at"
    public = Case()
    public.now = START + timedelta(days=1)
    assert refused(public, c.SubmitComplaint, COMPLAINANT, **fields) == "occurred_at"


# -- beyond the window ------------------------------------------------------------
def test_a_handler_cannot_record_yesterdays_step() -> None:
    case = claimed()
    case.now = datetime(2026, 3, 3, 9, 0, tzinfo=TZ)  # the next morning
    with pytest.raises(InvalidCommand) as info:
        case.investigate()  # at 13:00 the day before
    assert info.value.field == "occurred_at"
    message = str(info.value)
    assert "the day it happened" in message
    assert "supervisor" in message and "late_reason" in message
    # Nor with a reason: only a supervisor may approve it.
    assert (
        refused(case, c.RecordInvestigation, HANDLER, findings="f", late_reason="忘记录入")
        == "occurred_at"
    )
    assert case.state.status == Status.CLAIMED and marks(case) == []


def test_a_supervisor_records_a_step_beyond_the_window_only_with_a_reason() -> None:
    case = claimed().handle().resolve()
    case.now = datetime(2026, 3, 6, 9, 0, tzinfo=TZ)  # Friday; the feedback was on Monday
    assert refused(case, c.SendFeedback, HANDLER) == "occurred_at"
    assert refused(case, c.SendFeedback, SUPERVISOR) == "late_reason"
    case.do(c.SendFeedback, SUPERVISOR, late_reason="电话反馈时系统故障，未及时录入")
    assert case.state.status == Status.FED_BACK
    (mark,) = marks(case)
    assert mark.events == ["ResultFeedbackSent", "FollowUpScheduled"]
    assert (mark.window, mark.within_window) == ("working_day", False)
    assert (mark.reason, mark.approved_by) == ("电话反馈时系统故障，未及时录入", "sup-wang")
    assert case.envelopes[-1].actor == SUPERVISOR


def test_an_administrator_may_approve_too() -> None:
    case = claimed().handle().resolve()
    case.now = case.at + timedelta(days=3)
    case.do(c.SendFeedback, ADMIN, late_reason="补录")
    assert marks(case)[0].approved_by == "admin-he"


def test_the_step_window_is_configurable_in_working_days() -> None:
    # Received Fri 03-06; on Mon 03-09, one working day back is Friday.
    case = Case(at=datetime(2026, 3, 6, 9, 0, tzinfo=TZ)).submit().accept().route().claim()
    case.now = datetime(2026, 3, 9, 9, 0, tzinfo=TZ)
    assert refused(case, c.RecordInvestigation, HANDLER, findings="f") == "occurred_at"
    rules = LateEntryRules(step_working_days=1)
    case.context = lambda: DecisionContext(  # type: ignore[method-assign]
        calendar=CALENDAR, now=datetime(2026, 3, 9, 9, 0, tzinfo=TZ), late_entries=rules
    )
    case.investigate()
    assert marks(case)[0].within_window


# -- who has no window ------------------------------------------------------------------
def test_system_steps_follow_the_facts_they_come_from_and_are_marked() -> None:
    """The watcher and automatic routing date their steps by the stored facts
    they follow, channel adapters by when a channel received a submission: no
    window applies to them, but the mark is kept."""
    case = Case()
    case.now = START + timedelta(days=3)
    case.do(
        c.SubmitComplaint,
        SYSTEM,
        channel=Channel.WECHAT,
        tracking_no="TS1",
        complainant=Complainant(anonymous=True),
        subject="s",
        description="d",
        occurred_at=START,
    )
    (mark,) = marks(case)
    assert (mark.window, mark.within_window, mark.approved_by) == ("system", True, None)


def test_a_complainant_cannot_back_date() -> None:
    case = claimed().handle().resolve().feedback()
    case.now = case.at + timedelta(days=2)
    assert refused(case, c.RecordFollowUp, COMPLAINANT, satisfaction="satisfied") == "occurred_at"


# -- order and the future --------------------------------------------------------------
def test_a_step_cannot_be_dated_before_the_previous_one() -> None:
    """The issue's "a route before its acceptance is accepted"."""
    case = Case().submit(occurred_at=START)
    case.do(
        c.AcceptComplaint,
        OPERATOR,
        category="service_quality",
        occurred_at=START + timedelta(hours=3),
    )
    case.now = START + timedelta(hours=4)
    field = refused(
        case,
        c.RouteComplaint,
        OPERATOR,
        department="water",
        occurred_at=START + timedelta(hours=2),
    )
    assert field == "occurred_at"
    # Not even a supervisor with a reason: the record keeps the order of events.
    field = refused(
        case,
        c.RouteComplaint,
        SUPERVISOR,
        department="water",
        occurred_at=START + timedelta(hours=2),
        late_reason="r",
    )
    assert field == "occurred_at"
    case.do(c.RouteComplaint, OPERATOR, department="water", occurred_at=START + timedelta(hours=3))
    assert case.state.status == Status.ROUTED


def test_the_forty_day_case_cannot_be_bent() -> None:
    """Received 40 days ago; claimed now; the handler then cannot resolve and
    feed back "2 hours after receipt" (the issue's case 2)."""
    received = START
    case = Case().submit(occurred_at=received).accept().route()
    now = received + timedelta(days=40)
    case.now = now
    case.do(c.ClaimCase, HANDLER, occurred_at=now)
    two_hours_in = received + timedelta(hours=2)
    resolve = {"result": "已处理", "basis": "规定"}
    assert (
        refused(case, c.ResolveComplaint, HANDLER, occurred_at=two_hours_in, **resolve)
        == "occurred_at"
    )
    case.do(c.RecordInvestigation, HANDLER, occurred_at=now, findings="属实")
    measures = [PlanMeasure(measure="整改", owner=HANDLER.id)]
    case.do(c.ProposePlan, HANDLER, occurred_at=now, measures=measures)
    case.do(c.RecordConsultation, HANDLER, occurred_at=now, agrees=True)
    case.do(c.ResolveComplaint, HANDLER, occurred_at=now, **resolve)
    assert refused(case, c.SendFeedback, HANDLER, occurred_at=two_hours_in) == "occurred_at"
    case.do(c.SendFeedback, HANDLER, occurred_at=now)
    assert case.state.first_feedback_at == now
    assert marks(case) == []


def test_the_future_is_refused_beyond_the_clock_skew() -> None:
    case = claimed()
    case.now = case.at
    assert (
        refused(
            case,
            c.RecordInvestigation,
            HANDLER,
            findings="f",
            occurred_at=case.at + timedelta(minutes=6),
        )
        == "occurred_at"
    )
    case.do(
        c.RecordInvestigation, HANDLER, findings="f", occurred_at=case.at + timedelta(minutes=4)
    )
    assert case.state.status == Status.IN_HANDLING


def test_the_settings_reach_the_context() -> None:
    from tousu.shared.application.context_source import ContextSource
    from tousu.shared.settings import Settings

    settings = Settings(
        late_entry_grace_seconds=60, late_registration_days=10, late_step_working_days=2
    )
    rules = replace(ContextSource.for_settings(settings)().late_entries)
    assert rules == LateEntryRules(
        grace=timedelta(seconds=60), registration=timedelta(days=10), step_working_days=2
    )
    assert ContextSource.for_settings(Settings())().late_entries == LateEntryRules()
