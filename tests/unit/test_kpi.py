"""KPI core against scripted histories whose figures were worked out by hand.

Working days from Mon 2026-09-14 (Asia/Shanghai), numbered: 9-15 #1, 9-16 #2,
9-17 #3, 9-18 #4, Sun 9-20 #5 (调休), 9-21..24 #6..9, (9-25..27 中秋 off),
9-28..30 #10..12, (10-01..07 国庆 off), 10-08 #13, 10-09 #14, Sat 10-10 #15
(调休), 10-12..16 #16..20, 10-19..23 #21..25, 10-26..30 #26..30,
11-02..06 #31..35.  "N wd from day #k" is the end of day #(k+N).

Cohort [2026-09-14, 2026-10-01); T1 = 2026-10-14 12:00, T2 = 2026-11-30 12:00.

 c   ch    dept       received  acc.due  decided        fb due      feedback        follow-up
 c1  phone water      9-14      9-16     acc 9-15       10-12       10-09 on time   satisfied
 c2  web   water      9-15      9-17     acc 9-16       10-13       10-16 LATE      basically
 c3  phone transport  9-17      9-20     acc 9-18       10-15       10-15 16:00 ok  dissatisfied
       -> c3 reopened 10-16, round 2 due 11-06, never answered
 c4  web   transport  9-21      9-23     acc 9-21       10-19 +5wd approved 10-13 -> 10-26
                                                                    10-23 (timely)  satisfied
 c5  phone -          9-22      9-24     rej 9-23
 c6  web   -          9-24      9-29     never decided
 c7  phone water      9-14      9-16     acc 9-18 LATE  10-15       10-14 15:00     unreachable
 c8  web   transport  9-29      10-08    acc 10-08      10-28       10-20           -
 c9  phone transport  9-25      9-29     acc 9-28       10-23       never
 c10 web   water      9-30      10-09    acc 10-09      10-29       10-13           satisfied
 c11 web   -          10-01 00:30 (outside the cohort)
Handling working days: c1 13, c2 18, c3 15, c4 19, c7 14, c8 9, c10 3.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from tests.domain_kit import CALENDAR, HANDLER, OPERATOR, OTHER_HANDLER, SUPERVISOR, Case
from tousu.services.metrics.kpi import (
    ComplaintFacts,
    GroupBy,
    KpiRow,
    Rate,
    complaint_facts,
    fact_intervals,
    kpis,
    rank,
)
from tousu.shared.calendar import TZ
from tousu.shared.domain import commands as c
from tousu.shared.events import Envelope
from tousu.shared.events.types import Channel, PlanMeasure

START = datetime(2026, 9, 14, tzinfo=TZ)
END = datetime(2026, 10, 1, tzinfo=TZ)
T1 = datetime(2026, 10, 14, 12, 0, tzinfo=TZ)
T2 = datetime(2026, 11, 30, 12, 0, tzinfo=TZ)

HANDLERS = {"water": HANDLER, "transport": OTHER_HANDLER}


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TZ)


def received(channel: Channel, when: datetime) -> Case:
    case = Case()
    case.submit(channel, occurred_at=when)
    return case


def accepted(case: Case, when: datetime) -> Case:
    case.do(c.AcceptComplaint, OPERATOR, category="service_quality", occurred_at=when)
    return case


def working(case: Case, department: str, when: datetime) -> Case:
    """Routed, claimed and investigated within the hours after ``when``."""
    case.do(c.RouteComplaint, OPERATOR, department=department, occurred_at=when)
    actor = HANDLERS[department]
    case.do(c.ClaimCase, actor, occurred_at=when + timedelta(hours=1))
    case.do(
        c.RecordInvestigation, actor, findings="现场核实", occurred_at=when + timedelta(hours=2)
    )
    return case


def answered(case: Case, department: str, when: datetime) -> Case:
    """Resolved an hour before ``when`` and fed back at ``when``; the round's
    steps before the result that it has not had are taken at the instant of
    the resolution (no figure counts them)."""
    actor = HANDLERS[department]
    resolved = when - timedelta(hours=1)
    if not case.state.investigated:
        case.do(c.RecordInvestigation, actor, findings="现场核实", occurred_at=resolved)
    if not case.state.planned:
        measures = [PlanMeasure(measure="整改", owner=actor.id)]
        case.do(c.ProposePlan, actor, measures=measures, occurred_at=resolved)
    if not case.state.plan_consulted:
        case.do(c.RecordConsultation, actor, agrees=True, occurred_at=resolved)
    case.do(
        c.ResolveComplaint,
        actor,
        result="已处理",
        basis="相关规定",
        occurred_at=when - timedelta(hours=1),
    )
    case.do(c.SendFeedback, actor, occurred_at=when)
    return case


def followed_up(case: Case, satisfaction: str, when: datetime) -> Case:
    case.do(c.RecordFollowUp, OPERATOR, satisfaction=satisfaction, occurred_at=when)
    return case


def build() -> dict[str, Case]:
    cases: dict[str, Case] = {}

    c1 = accepted(received(Channel.PHONE, at(9, 14)), at(9, 15))
    working(c1, "water", at(9, 15, 11))
    answered(c1, "water", at(10, 9))
    cases["c1"] = followed_up(c1, "satisfied", at(10, 12))

    c2 = accepted(received(Channel.WEB, at(9, 15)), at(9, 16))
    working(c2, "water", at(9, 16, 11))
    answered(c2, "water", at(10, 16))
    cases["c2"] = followed_up(c2, "basically_satisfied", at(10, 19))

    c3 = accepted(received(Channel.PHONE, at(9, 17)), at(9, 18))
    working(c3, "transport", at(9, 18, 11))
    answered(c3, "transport", at(10, 15, 16))
    cases["c3"] = followed_up(c3, "dissatisfied", at(10, 16))

    c4 = accepted(received(Channel.WEB, at(9, 21)), at(9, 21, 11))
    working(c4, "transport", at(9, 21, 12))
    c4.do(
        c.RequestExtension, OTHER_HANDLER, working_days=5, reason="需协调", occurred_at=at(10, 12)
    )
    c4.do(c.DecideExtension, SUPERVISOR, approved=True, occurred_at=at(10, 13))
    answered(c4, "transport", at(10, 23))
    cases["c4"] = followed_up(c4, "satisfied", at(10, 26))

    c5 = received(Channel.PHONE, at(9, 22))
    c5.do(
        c.RejectComplaint,
        OPERATOR,
        reason="不属受理范围",
        suggestion="向法院起诉",
        occurred_at=at(9, 23),
    )
    cases["c5"] = c5

    cases["c6"] = received(Channel.WEB, at(9, 24))

    c7 = accepted(received(Channel.PHONE, at(9, 14)), at(9, 18))
    working(c7, "water", at(9, 18, 11))
    answered(c7, "water", at(10, 14, 15))
    cases["c7"] = followed_up(c7, "unreachable", at(10, 16))

    c8 = accepted(received(Channel.WEB, at(9, 29)), at(10, 8))
    working(c8, "transport", at(10, 8, 11))
    cases["c8"] = answered(c8, "transport", at(10, 20))

    c9 = accepted(received(Channel.PHONE, at(9, 25)), at(9, 28))
    cases["c9"] = working(c9, "transport", at(9, 28, 11))

    c10 = accepted(received(Channel.WEB, at(9, 30)), at(10, 9))
    working(c10, "water", at(10, 9, 11))
    answered(c10, "water", at(10, 13))
    cases["c10"] = followed_up(c10, "satisfied", at(10, 14))

    cases["c11"] = received(Channel.WEB, at(10, 1, 0, 30))
    return cases


@pytest.fixture(scope="module")
def cases() -> dict[str, Case]:
    return build()


def facts_at(cases: dict[str, Case], as_of: datetime) -> list[ComplaintFacts]:
    out = [complaint_facts(case.envelopes, as_of) for case in cases.values()]
    return [f for f in out if f is not None]


def figures(row: KpiRow) -> dict[str, object]:
    """A row as plain literals: counts, then each rate as (numerator, denominator)."""

    def pair(rate: Rate) -> tuple[int, int]:
        return rate.numerator, rate.denominator

    return {
        "group": row.group,
        "counts": (
            row.received,
            row.accepted,
            row.rejected,
            row.fed_back,
            row.closed,
            row.reopened,
            row.overdue_now,
        ),
        "acceptance": pair(row.acceptance_timeliness),
        "feedback": pair(row.feedback_timeliness),
        "closure": pair(row.closure_rate),
        "satisfaction": pair(row.satisfaction_rate),
        "avg_wd": row.avg_handling_working_days,
    }


def compute(
    cases: dict[str, Case], as_of: datetime, group_by: GroupBy | None
) -> list[dict[str, object]]:
    rows = kpis(
        facts_at(cases, as_of),
        start=START,
        end=END,
        as_of=as_of,
        group_by=group_by,
        calendar=CALENDAR,
    )
    return [figures(r) for r in rows]


# counts: received, accepted, rejected, fed_back, closed, reopened, overdue_now
def test_deadlines_in_the_scripted_histories(cases: dict[str, Case]) -> None:
    f3 = complaint_facts(cases["c3"].envelopes, T2)
    f4 = complaint_facts(cases["c4"].envelopes, T2)
    assert f3 is not None and f4 is not None
    assert f3.acceptance_due is not None and f3.acceptance_due.date() == at(9, 20).date()
    assert f3.first_feedback_due is not None and f3.first_feedback_due.date() == at(10, 15).date()
    assert f3.current_feedback_due is not None
    assert f3.current_feedback_due.date() == at(11, 6).date()
    assert (f3.round, f3.reopen_count, f3.latest_round_fed_back) == (2, 1, False)
    assert f3.overdue_now
    assert f4.first_feedback_due is not None and f4.first_feedback_due.date() == at(10, 26).date()


def row(
    group: str | None,
    counts: tuple[int, ...],
    acceptance: tuple[int, int],
    feedback: tuple[int, int],
    closure: tuple[int, int],
    satisfaction: tuple[int, int],
    avg_wd: object,
) -> dict[str, object]:
    """An expected row as :func:`figures` gives it; a rate is (numerator, denominator)."""
    return {
        "group": group,
        "counts": counts,
        "acceptance": acceptance,
        "feedback": feedback,
        "closure": closure,
        "satisfaction": satisfaction,
        "avg_wd": avg_wd,
    }


# Each grouping mid-way (T1) and later (T2). A row: group; counts (received,
# accepted, rejected, fed_back, closed, reopened, overdue_now); acceptance,
# feedback, closure and satisfaction rates; average handling working days.
ROWS = {
    "total_mid_way": (
        T1,
        None,
        [row(None, (10, 8, 1, 2, 2, 0, 2), (8, 10), (2, 3), (2, 3), (2, 2), 8.0)],
    ),
    "total_later": (
        T2,
        None,
        [row(None, (10, 8, 1, 7, 4, 1, 3), (8, 10), (6, 8), (6, 8), (4, 5), 13.0)],
    ),
    "by_department_mid_way": (
        T1,
        "department",
        [
            row("transport", (4, 4, 0, 0, 0, 0, 0), (4, 4), (0, 0), (0, 0), (0, 0), None),
            row("water", (4, 4, 0, 2, 2, 0, 1), (3, 4), (2, 3), (2, 3), (2, 2), 8.0),
            row(None, (2, 0, 1, 0, 0, 0, 1), (1, 2), (0, 0), (0, 0), (0, 0), None),
        ],
    ),
    "by_department_later": (
        T2,
        "department",
        [
            row(
                "transport",
                (4, 4, 0, 3, 1, 1, 2),
                (4, 4),
                (3, 4),
                (2, 4),
                (1, 2),
                pytest.approx(43 / 3),
            ),
            row("water", (4, 4, 0, 4, 3, 0, 0), (3, 4), (3, 4), (4, 4), (3, 3), 12.0),
            row(None, (2, 0, 1, 0, 0, 0, 1), (1, 2), (0, 0), (0, 0), (0, 0), None),
        ],
    ),
    "by_channel_mid_way": (
        T1,
        "channel",
        [
            row("phone", (5, 4, 1, 1, 1, 0, 0), (4, 5), (1, 1), (1, 1), (1, 1), 13.0),
            row("web", (5, 4, 0, 1, 1, 0, 2), (4, 5), (1, 2), (1, 2), (1, 1), 3.0),
        ],
    ),
    "by_channel_later": (
        T2,
        "channel",
        [
            row("phone", (5, 4, 1, 3, 1, 1, 2), (4, 5), (3, 4), (2, 4), (1, 2), 14.0),
            row("web", (5, 4, 0, 4, 3, 0, 1), (4, 5), (3, 4), (4, 4), (3, 3), 12.25),
        ],
    ),
}


@pytest.mark.parametrize(("as_of", "group_by", "expected"), ROWS.values(), ids=ROWS.keys())
def test_kpi_rows(
    cases: dict[str, Case],
    as_of: datetime,
    group_by: GroupBy | None,
    expected: list[dict[str, object]],
) -> None:
    assert compute(cases, as_of, group_by) == expected


def test_by_month_and_handler(cases: dict[str, Case]) -> None:
    months = compute(cases, T2, "month")
    assert [(m["group"], m["counts"]) for m in months] == [("2026-09", (10, 8, 1, 7, 4, 1, 3))]
    handlers = compute(cases, T2, "handler")
    assert [(h["group"], h["feedback"]) for h in handlers] == [
        ("h-sun", (3, 4)),
        ("h-zhao", (3, 4)),
        (None, (0, 0)),
    ]


def test_events_after_as_of_are_ignored(cases: dict[str, Case]) -> None:
    envelopes = cases["c7"].envelopes
    before = complaint_facts(envelopes, T1)  # feedback at 15:00 that day
    after = complaint_facts(envelopes, at(10, 14, 15))
    assert before is not None and after is not None
    assert before.first_feedback_at is None and not before.latest_round_fed_back
    assert after.first_feedback_at == at(10, 14, 15) and after.latest_round_fed_back
    # Nothing is known of a complaint before it was received.
    assert complaint_facts(envelopes, at(9, 14, 9)) is None
    # The extension approved on 10-13 is not yet known on 10-12.
    f4 = complaint_facts(cases["c4"].envelopes, at(10, 12, 23))
    assert f4 is not None and f4.first_feedback_due is not None
    assert f4.first_feedback_due.date() == at(10, 19).date()


def assert_intervals_match_folding(envelopes: list[Envelope]) -> None:
    # What the KPI projection stores: the picture in force at T is the last
    # one beginning at or before T, and it equals folding the history to T.
    intervals = fact_intervals(envelopes)
    begins = [t for t, _ in intervals]
    assert begins == sorted(set(begins))
    instants = {e.occurred_at for e in envelopes}
    probes = instants | {t + timedelta(seconds=1) for t in instants} | {T1, T2}
    for t in sorted(probes | {min(instants) - timedelta(seconds=1)}):
        expected = complaint_facts(envelopes, t)
        current = [f for begin, f in intervals if begin <= t]
        if expected is None:
            assert not current, t
        else:
            assert replace(current[-1], overdue_now=expected.overdue_now) == expected, t


def test_intervals_give_the_facts_as_of_any_instant(cases: dict[str, Case]) -> None:
    for case in cases.values():
        assert_intervals_match_folding(case.envelopes)


def test_intervals_of_a_back_dated_history(cases: dict[str, Case]) -> None:
    # c3's dissatisfied follow-up, typed in last, reported as made before
    # the feedback it answers: the history is no longer in time order.
    envelopes = list(cases["c3"].envelopes)
    follow_up = next(i for i, e in enumerate(envelopes) if e.type == "ComplaintFollowedUp")
    envelopes[follow_up] = envelopes[follow_up].model_copy(update={"occurred_at": at(10, 10)})
    assert_intervals_match_folding(envelopes)
    assert_intervals_match_folding(envelopes[: follow_up + 1])


def test_rate_value_and_ranking(cases: dict[str, Case]) -> None:
    assert Rate(2, 3).value == pytest.approx(2 / 3)
    assert Rate(0, 0).value is None
    rows = kpis(
        facts_at(cases, T2),
        start=START,
        end=END,
        as_of=T2,
        group_by="department",
        calendar=CALENDAR,
    )
    # Both departments answer 3 of 4 in time; water's 满意率 is higher; the
    # unrouted group has no 及时率 at all and comes last.
    assert [r.group for r in rank(rows)] == ["water", "transport", None]
    assert [r.group for r in rank(rows, ("closure_rate",))] == ["water", "transport", None]


def test_empty_cohort_gives_one_total_row() -> None:
    rows = kpis([], start=START, end=END, as_of=T2, group_by=None, calendar=CALENDAR)
    assert len(rows) == 1 and rows[0].received == 0 and rows[0].feedback_timeliness.value is None
    assert kpis([], start=START, end=END, as_of=T2, group_by="channel", calendar=CALENDAR) == []


def test_reopened_case_stays_in_closure_denominator(cases: dict[str, Case]) -> None:
    # c3 on 10-20: fed back in round 1, reopened 10-16, round 2 not due until
    # 11-06: it counts as fed back (denominator) but not as closed (numerator).
    as_of = at(10, 20, 12)
    f3 = complaint_facts(cases["c3"].envelopes, as_of)
    assert f3 is not None and not f3.overdue_now
    (row,) = kpis([f3], start=START, end=END, as_of=as_of, group_by=None, calendar=CALENDAR)
    assert figures(row)["closure"] == (0, 1)
    assert figures(row)["feedback"] == (1, 1)
    assert figures(row)["satisfaction"] == (0, 1)
