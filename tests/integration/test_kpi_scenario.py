"""The KPIs of the scripted scenario (tests/kpi_scenario.py) against figures
worked out by hand, for every grouping, at two instants.

Each complaint's comment in kpi_scenario.py gives its deadlines and whether
each act was in time; the tables below add those up. A row reads

    (group, (received, accepted, rejected, fed_back, closed, reopened, overdue_now),
     acceptance, feedback (及时率), closure (办结率), satisfaction (满意率) as
     (numerator, denominator), average handling working days rounded to 2 places)

T1 = Tue 2026-10-20 12:00: C25..C31 not yet received; C23 undecided and
overdue, C24 undecided and not yet due, C16's feedback due that very day
(not passed); C14 reopened by supervision (open, not overdue); C08 reopened
and overdue; C19 never decided.
T2 = Wed 2026-11-25 12:00: C18, C24, C27 past their feedback deadline
unanswered; C30 undecided and overdue; C29 undecided but not yet due; C20
reopened after an on-time (extended) answer; C14 closed again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from tests.helpers import eventually, project_everything
from tests.infra import Servers, new_database
from tests.kpi_scenario import SCRIPTS, T1, T2, complaint_id, drive
from tousu.services.metrics.kpi import GroupBy, KpiRow, complaint_facts, kpis
from tousu.services.metrics.kpis import PgKpiSource
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.events import Envelope
from tousu.shared.store import EventStore
from tousu.shared.store.postgres import PostgresEventStore

YEAR = (datetime(2026, 1, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ))
OCTOBER = (datetime(2026, 10, 1, tzinfo=TZ), datetime(2026, 11, 1, tzinfo=TZ))

KpiSource = Callable[[datetime, datetime, datetime, GroupBy | None], Awaitable[list[KpiRow]]]
Figures = tuple[Any, ...]


# -- the ways of answering "KPIs for a cohort as of T" --------------------------
async def python_source(store: EventStore, database_url: str) -> KpiSource:
    """Everything read back from the store and folded in Python."""

    async def source(
        start: datetime, end: datetime, as_of: datetime, group_by: GroupBy | None
    ) -> list[KpiRow]:
        streams: dict[str, list[Envelope]] = defaultdict(list)
        after = 0
        while page := await store.read_all(after=after, limit=100):
            for envelope in page:
                streams[envelope.stream_id].append(envelope)
            after = page[-1].global_position
        facts = [
            complaint_facts(sorted(envelopes, key=lambda e: e.version), as_of)
            for envelopes in streams.values()
        ]
        return kpis(
            [f for f in facts if f is not None],
            start=start,
            end=end,
            as_of=as_of,
            group_by=group_by,
            calendar=WorkdayCalendar(),
        )

    return source


# name -> factory(store, database_url); add another implementation here.
async def projection_source(store: EventStore, database_url: str) -> KpiSource:
    """The metrics service's way: the kpi_facts projection and one SQL aggregate."""
    assert isinstance(store, PostgresEventStore)
    await project_everything(store)
    pg = PgKpiSource(store.pool)

    async def source(
        start: datetime, end: datetime, as_of: datetime, group_by: GroupBy | None
    ) -> list[KpiRow]:
        return await pg.kpis(start=start, end=end, as_of=as_of, group_by=group_by)

    return source


SOURCES: dict[str, Callable[[EventStore, str], Awaitable[KpiSource]]] = {
    "python": python_source,
    "projection": projection_source,
}


@pytest.fixture(scope="module")
async def scenario_database_url(servers: Servers, template_database: str) -> AsyncIterator[str]:
    """One database holding the whole scenario, shared by this module's tests."""
    async with new_database(servers, template=template_database) as url:
        store = await PostgresEventStore.connect(url)
        try:
            await drive(store)
            stored: int = await store.pool.fetchval("SELECT count(*) FROM events")

            async def readable() -> bool:
                # read_all holds back events behind any transaction still in
                # flight on the server (other tests' too): wait until none is.
                return len(await store.read_all(limit=10_000)) == stored

            await eventually(readable, "the scenario's events to be readable", timeout=30)
        finally:
            await store.close()
        yield url


@pytest.fixture(scope="module")
async def scenario_store(scenario_database_url: str) -> AsyncIterator[PostgresEventStore]:
    store = await PostgresEventStore.connect(scenario_database_url)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(scope="module", params=sorted(SOURCES))
async def kpi_source(
    request: pytest.FixtureRequest, scenario_store: PostgresEventStore, scenario_database_url: str
) -> KpiSource:
    return await SOURCES[request.param](scenario_store, scenario_database_url)


def figures(row: KpiRow) -> Figures:
    avg = row.avg_handling_working_days
    return (
        row.group,
        (
            row.received,
            row.accepted,
            row.rejected,
            row.fed_back,
            row.closed,
            row.reopened,
            row.overdue_now,
        ),
        (row.acceptance_timeliness.numerator, row.acceptance_timeliness.denominator),
        (row.feedback_timeliness.numerator, row.feedback_timeliness.denominator),
        (row.closure_rate.numerator, row.closure_rate.denominator),
        (row.satisfaction_rate.numerator, row.satisfaction_rate.denominator),
        None if avg is None else round(avg, 2),
    )


# -- the hand-worked tables ------------------------------------------------------
# Handling working days of the complaints fed back: C01 14, C02 14, C03 15,
# C04 18, C06 19, C07 11, C08 15, C09 19, C10 16, C12 9, C13 14, C14 11,
# C15 15 (by T1: 190 / 13); then C16 16, C17 14, C20 23, C21 14, C23 15,
# C25 16, C28 5 (by T2: 293 / 20).
UNDECIDED_T1 = (None, (6, 0, 3, 0, 0, 0, 2), (3, 5), (0, 0), (0, 0), (0, 0), None)
UNDECIDED_T2 = (None, (7, 0, 4, 0, 0, 0, 2), (3, 6), (0, 0), (0, 0), (0, 0), None)
SPRING = [
    ("2026-01", (2, 2, 0, 2, 2, 0, 0), (1, 2), (2, 2), (2, 2), (2, 2), 14.0),
    ("2026-02", (5, 4, 1, 4, 4, 1, 0), (3, 5), (3, 4), (4, 4), (4, 4), 15.75),
    ("2026-03", (1, 1, 0, 1, 0, 1, 1), (1, 1), (1, 1), (0, 1), (0, 1), 15.0),
    ("2026-04", (2, 2, 0, 2, 2, 0, 0), (2, 2), (0, 2), (2, 2), (2, 2), 17.5),
    ("2026-05", (1, 0, 1, 0, 0, 0, 0), (1, 1), (0, 0), (0, 0), (0, 0), None),
    ("2026-06", (1, 1, 0, 1, 1, 0, 0), (1, 1), (1, 1), (1, 1), (1, 1), 9.0),
    ("2026-07", (1, 1, 0, 1, 1, 0, 0), (1, 1), (1, 1), (1, 1), (1, 1), 14.0),
]
OCTOBER_T1 = (6, 2, 1, 0, 0, 0, 2), (2, 5), (0, 0), (0, 0), (0, 0), None
OCTOBER_T2 = (8, 5, 2, 4, 2, 1, 2), (4, 8), (3, 5), (3, 5), (2, 3), 17.0

EXPECTED: dict[tuple[datetime, GroupBy | None], list[Figures]] = {
    (T1, None): [(None, (24, 18, 3, 13, 11, 3, 3), (15, 23), (10, 13), (11, 13), (12, 13), 14.62)],
    (T2, None): [(None, (30, 23, 4, 20, 16, 4, 6), (19, 29), (15, 23), (18, 23), (16, 18), 14.65)],
    (T1, "department"): [
        # C08 C12 C17
        ("health", (3, 3, 0, 2, 1, 1, 1), (3, 3), (2, 2), (1, 2), (1, 2), 12.0),
        # C03 C07 C13 C16 C21
        ("housing", (5, 5, 0, 3, 3, 0, 0), (2, 5), (3, 3), (3, 3), (3, 3), 13.33),
        # C02 C06 C10 C15 C20
        ("transport", (5, 5, 0, 4, 4, 0, 0), (4, 5), (3, 4), (4, 4), (4, 4), 16.0),
        # C01 C04 C09 C14 C18
        ("water", (5, 5, 0, 4, 3, 2, 0), (3, 5), (2, 4), (3, 4), (4, 4), 15.5),
        # C05 C11 C19 C22 C23 C24
        UNDECIDED_T1,
    ],
    (T2, "department"): [
        # + C24
        ("health", (4, 4, 0, 3, 2, 1, 2), (4, 4), (3, 4), (2, 4), (2, 3), 12.67),
        # + C27
        ("housing", (6, 6, 0, 5, 5, 0, 1), (3, 6), (4, 6), (5, 6), (5, 5), 14.0),
        # + C25
        ("transport", (6, 6, 0, 6, 5, 1, 0), (5, 6), (4, 6), (5, 6), (5, 6), 17.17),
        # + C23 C28
        ("water", (7, 7, 0, 6, 4, 2, 1), (4, 7), (4, 7), (6, 7), (4, 4), 13.67),
        # C05 C11 C19 C22 C26 C29 C30
        UNDECIDED_T2,
    ],
    (T1, "channel"): [
        # C04 C09 C18 C21
        ("letter", (4, 4, 0, 2, 2, 1, 0), (1, 4), (0, 2), (2, 2), (2, 2), 18.5),
        # C02 C03 C08 C11 C14 C15 C19 C22
        ("phone", (8, 5, 2, 5, 3, 2, 2), (6, 8), (5, 5), (3, 5), (4, 5), 14.0),
        # C07 C13 C17 C24
        ("walk_in", (4, 3, 0, 2, 2, 0, 0), (2, 3), (2, 2), (2, 2), (2, 2), 12.5),
        # C01 C05 C10 C12 C16 C20
        ("web", (6, 5, 1, 3, 3, 0, 0), (5, 6), (2, 3), (3, 3), (3, 3), 13.0),
        # C06 C23
        ("wechat", (2, 1, 0, 1, 1, 0, 1), (1, 2), (1, 1), (1, 1), (1, 1), 19.0),
    ],
    (T2, "channel"): [
        # + C27
        ("letter", (5, 5, 0, 3, 3, 1, 2), (2, 5), (1, 5), (3, 5), (3, 3), 17.0),
        # + C25 C29
        ("phone", (10, 6, 2, 6, 5, 2, 2), (7, 9), (5, 6), (5, 6), (5, 6), 14.33),
        ("walk_in", (4, 4, 0, 3, 3, 0, 1), (3, 4), (3, 4), (3, 4), (3, 3), 13.0),
        # + C26 C30
        ("web", (8, 5, 2, 5, 4, 1, 1), (5, 8), (3, 5), (4, 5), (4, 5), 15.6),
        # + C28
        ("wechat", (3, 3, 0, 3, 1, 0, 0), (2, 3), (3, 3), (3, 3), (1, 1), 13.0),
    ],
    (T1, "category"): [
        # C08 C13 C20
        ("misconduct", (3, 3, 0, 2, 1, 1, 1), (3, 3), (2, 2), (1, 2), (1, 2), 14.5),
        # C02 C07 C14 C17
        ("service_environment", (4, 4, 0, 3, 2, 1, 0), (2, 4), (3, 3), (2, 3), (3, 3), 12.0),
        # C01 C04 C06 C10 C12 C15 C21
        ("service_quality", (7, 7, 0, 6, 6, 1, 0), (5, 7), (4, 6), (6, 6), (6, 6), 15.17),
        # C03 C09 C16 C18
        ("service_result", (4, 4, 0, 2, 2, 0, 0), (2, 4), (1, 2), (2, 2), (2, 2), 17.0),
        # not yet classified: C05 C11 C19 C22 C23 C24
        UNDECIDED_T1,
    ],
    (T2, "category"): [
        # + C24
        ("misconduct", (4, 4, 0, 3, 1, 2, 2), (4, 4), (3, 4), (1, 4), (1, 3), 17.33),
        # + C23 C27
        ("service_environment", (6, 6, 0, 5, 4, 1, 1), (3, 6), (5, 6), (5, 6), (4, 4), 13.0),
        # + C28
        ("service_quality", (8, 8, 0, 8, 7, 1, 0), (6, 8), (6, 8), (8, 8), (7, 7), 13.75),
        # + C25
        ("service_result", (5, 5, 0, 4, 4, 0, 1), (3, 5), (1, 5), (4, 5), (4, 4), 16.5),
        UNDECIDED_T2,
    ],
    (T1, "month"): [
        *SPRING,
        # C14, reopened by supervision on 10-12
        ("2026-08", (1, 1, 0, 1, 0, 1, 0), (1, 1), (1, 1), (0, 1), (1, 1), 11.0),
        # C15 C16 C17 C18
        ("2026-09", (4, 4, 0, 1, 1, 0, 0), (2, 4), (1, 1), (1, 1), (1, 1), 15.0),
        # C19 .. C24
        ("2026-10", *OCTOBER_T1),
    ],
    (T2, "month"): [
        *SPRING,
        ("2026-08", (1, 1, 0, 1, 1, 1, 0), (1, 1), (1, 1), (1, 1), (1, 1), 11.0),
        ("2026-09", (4, 4, 0, 3, 3, 0, 1), (2, 4), (2, 4), (3, 4), (3, 3), 15.0),
        # C19 .. C26
        ("2026-10", *OCTOBER_T2),
        # C27 .. C30
        ("2026-11", (4, 2, 0, 1, 0, 0, 2), (2, 3), (1, 2), (1, 2), (0, 0), 5.0),
    ],
}


@pytest.mark.parametrize(
    ("as_of", "group_by"),
    list(EXPECTED),
    ids=[f"{'T1' if t == T1 else 'T2'}-{g or 'total'}" for t, g in EXPECTED],
)
async def test_scenario_figures_match_the_hand_count(
    kpi_source: KpiSource, as_of: datetime, group_by: GroupBy | None
) -> None:
    rows = await kpi_source(*YEAR, as_of, group_by)
    assert [figures(r) for r in rows] == EXPECTED[(as_of, group_by)]


@pytest.mark.parametrize(
    ("as_of", "expected"), [(T1, OCTOBER_T1), (T2, OCTOBER_T2)], ids=["T1", "T2"]
)
async def test_one_month_cohort(kpi_source: KpiSource, as_of: datetime, expected: Figures) -> None:
    # C18 (09-30 16:00) is just outside, C19 (10-01 10:00) just inside; the
    # total equals October's row of the year grouped by month.
    rows = await kpi_source(*OCTOBER, as_of, None)
    assert [figures(r) for r in rows] == [(None, *expected)]


async def test_by_handler(kpi_source: KpiSource) -> None:
    # C13 was claimed by h-zhao, returned by water and claimed by h-wu: h-wu's.
    rows = await kpi_source(*YEAR, T2, "handler")
    feedback = [
        (r.group, r.received, (r.feedback_timeliness.numerator, r.feedback_timeliness.denominator))
        for r in rows
    ]
    assert feedback == [
        ("h-lin", 4, (2, 4)),  # C04 late, C14, C18 unanswered, C28
        ("h-sun", 6, (4, 6)),  # C02 C06 C10 late C15 C20 C25 late
        ("h-wu", 3, (3, 3)),  # C07 C13 C21
        ("h-zhao", 3, (2, 3)),  # C01 C09 late C23
        ("h-zheng", 4, (3, 4)),  # C08 C12 C17 C24 unanswered
        ("h-zhou", 3, (1, 3)),  # C03 C16 late C27 unanswered
        (None, 7, (0, 0)),
    ]


async def test_late_entries_are_counted_beside_the_rates(kpi_source: KpiSource) -> None:
    """C21's letter, registered five days after it came (within the 30 days
    an operator may), is the scenario's one late entry (补录): counted in the
    figures of the department and the handler that hold it."""
    assert [r.late_entries for r in await kpi_source(*YEAR, T2, None)] == [1]
    # As of T1, C21 is with housing already, claimed by h-wu.
    by_department = await kpi_source(*YEAR, T1, "department")
    assert {r.group: r.late_entries for r in by_department} == {
        "health": 0,
        "housing": 1,
        "transport": 0,
        "water": 0,
        None: 0,
    }
    by_handler = await kpi_source(*YEAR, T2, "handler")
    assert {r.group: r.late_entries for r in by_handler if r.late_entries} == {"h-wu": 1}
    # Counted from when the fact happened, as every figure is.
    before = datetime(2026, 10, 8, 12, 0, tzinfo=TZ)
    assert [r.late_entries for r in await kpi_source(*YEAR, before, None)] == [0]


# Per complaint, as of T2 (2026, Asia/Shanghai days): acceptance due, first
# round's feedback due (with approved extensions), the latest round's
# feedback due, and handling working days to the first feedback.
PER_COMPLAINT = """
C01 01-05 01-26 01-26 14    C02 01-06 01-28 01-28 14    C03 02-24 03-13 03-13 15
C04 02-24 03-17 04-14 18    C05 02-25 -     -     -     C06 02-25 03-24 03-24 19
C07 02-14 03-16 03-16 11    C08 04-01 04-22 05-19 15    C09 04-08 05-07 05-07 19
C10 04-22 05-14 05-14 16    C11 05-08 -     -     -     C12 06-23 07-13 07-13 9
C13 07-22 08-10 08-10 14    C14 08-19 09-07 11-02 11    C15 09-21 10-15 10-15 15
C16 09-21 10-20 10-20 16    C17 10-08 10-28 10-28 14    C18 10-09 10-30 10-30 -
C19 10-09 -     -     -     C20 10-10 11-12 12-03 23    C21 10-12 11-04 11-04 14
C22 10-14 -     -     -     C23 10-19 11-11 11-11 15    C24 10-21 11-10 11-10 -
C25 10-26 11-12 11-12 16    C26 11-03 -     -     -     C27 11-04 11-24 11-24 -
C28 11-18 12-08 12-08 5     C29 11-25 -     -     -     C30 11-24 -     -     -
"""


async def test_deadlines_and_handling_days_per_complaint(
    scenario_store: PostgresEventStore,
) -> None:
    calendar = WorkdayCalendar()

    def day(instant: datetime | None) -> str:
        return "-" if instant is None else instant.astimezone(TZ).strftime("%m-%d")

    words = PER_COMPLAINT.split()
    expected = [tuple(words[i : i + 5]) for i in range(0, len(words), 5)]
    actual: list[tuple[str, ...]] = []
    for number in range(1, 31):
        envelopes = await scenario_store.read_stream(f"complaint-{complaint_id(number)}")
        f = complaint_facts(envelopes, T2)
        assert f is not None
        handled = (
            "-"
            if f.accepted_at is None or f.first_feedback_at is None
            else str(calendar.working_days_between(f.accepted_at, f.first_feedback_at))
        )
        actual.append(
            (
                f"C{number:02d}",
                day(f.acceptance_due),
                day(f.first_feedback_due),
                day(f.current_feedback_due),
                handled,
            )
        )
    assert actual == expected


async def test_the_scenario_is_stored_as_scripted(scenario_store: PostgresEventStore) -> None:
    envelopes = await scenario_store.read_all(limit=10_000)
    assert len({e.stream_id for e in envelopes}) == len(SCRIPTS) == 32
    assert len(envelopes) == sum(len(s.steps) for s in SCRIPTS) + sum(
        # SendFeedback also schedules the follow-up; a dissatisfied follow-up
        # reopens, a (basically) satisfied one closes.
        (s.command.name() == "SendFeedback")
        + (s.fields.get("satisfaction") in {"satisfied", "basically_satisfied", "dissatisfied"})
        # A step typed in after it happened is marked as a late entry (补录).
        + (s.entered_at is not None)
        for script in SCRIPTS
        for s in script.steps
    )
    # C21's letter was registered on 10-14 as received on 10-09: stored after
    # C22's rejection of 10-13, yet it happened before it.
    received = next(
        e
        for e in envelopes
        if e.stream_id == f"complaint-{complaint_id(21)}" and e.type == "ComplaintReceived"
    )
    rejected = next(
        e
        for e in envelopes
        if e.stream_id == f"complaint-{complaint_id(22)}" and e.type == "ComplaintRejected"
    )
    assert received.global_position > rejected.global_position
    assert received.occurred_at < rejected.occurred_at
    # Marked as a late entry, within the window an operator may use.
    mark = next(e for e in envelopes if e.type == "LateEntryRecorded")
    assert (mark.stream_id, mark.version, mark.occurred_at) == (
        received.stream_id,
        received.version + 1,
        received.occurred_at,
    )
    assert mark.data["events"] == ["ComplaintReceived"]
    assert mark.data["late_by_seconds"] == 5 * 24 * 3600 - 3600  # 10-09 10:00 to 10-14 09:00
    assert (mark.data["window"], mark.data["within_window"]) == ("registration", True)
