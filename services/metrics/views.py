"""What the rest of tousu reads of the complaints: the metrics service's read
models (``case_view``, ``kpi_facts`` and its rollup, ``supervision_items``)
and the rules over them, behind one face.

The gateway and the other services import this module and nothing else of
metrics (the CLI, an entry point at the top, may reach further); the queries
against the projections are written here, or in the metrics modules this one
re-exports, and nowhere else. A few reads add what the projections do not
keep from the store's ``events`` (a routing's requirements, the description
and place a complaint came with, the late entries). One case's detail is its
history read through the store's port, never behind the store; every
projection read follows the store by a moment.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg

from tousu.services.metrics.deadlines import DUE_COLUMNS, Overdue, overdue, overdue_sql
from tousu.services.metrics.hotspots.views import HotspotRule, month_hotspots
from tousu.services.metrics.kpi import GroupBy, KpiRow, Rate
from tousu.services.metrics.kpi.export import label, percent, row_dict
from tousu.services.metrics.kpi.period import PeriodError, cohort, parse_instant
from tousu.services.metrics.kpis import PgKpiSource
from tousu.services.metrics.report.figures import month_start, parse_month, shift_month
from tousu.services.metrics.report.labels import Language
from tousu.services.metrics.supervision.policy import Level, standing, warning_at
from tousu.shared.domain.state import ComplaintState, replay
from tousu.shared.domain.status import Status
from tousu.shared.events import Envelope, complaint_stream, utcnow
from tousu.shared.events.envelope import STREAM_PREFIX
from tousu.shared.events.types import Channel, LateEntryRecorded
from tousu.shared.store import EventStore

if TYPE_CHECKING:
    from tousu.services.metrics.report.monthly import ReportFiles

__all__ = [
    "WORKLIST_LIMIT",
    "Case",
    "CaseFilter",
    "GroupBy",
    "KpiRow",
    "Language",
    "Level",
    "Overdue",
    "PeriodError",
    "PgKpiSource",
    "Rate",
    "case_brief",
    "case_briefs",
    "case_departments",
    "case_detail",
    "channel_cases",
    "cohort",
    "department_queue",
    "follow_up_worklist",
    "label",
    "late_entries",
    "late_entry_counts",
    "like_pattern",
    "list_cases",
    "month_start",
    "monthly_report",
    "next_owed",
    "open_supervision",
    "overdue",
    "parse_instant",
    "parse_month",
    "percent",
    "reports_about",
    "routing_requirements",
    "row_dict",
    "shift_month",
    "standing",
    "warning_at",
]

# -- one case --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    state: ComplaintState
    history: list[Envelope]


async def case_detail(store: EventStore, complaint_id: uuid.UUID) -> Case:
    """One case as it stands: its history read through the store's port and
    replayed, so a case page never lags behind a command just answered (as a
    projection would)."""
    history = await store.read_stream(complaint_stream(complaint_id))
    return Case(replay(history), history)


# -- the staff case list ----------------------------------------------------------------

# Where the case owes something (an acceptance decision, a claim, the result
# feedback of the current round, a follow-up) and its date has passed.
OVERDUE = overdue_sql("now()")

_COLUMNS = f"""complaint_id, tracking_no, status, department, handler, channel, category,
    subject, received_at, acceptance_due_at, feedback_due_at, updated_at, version,
    {OVERDUE} AS overdue"""


@dataclass(frozen=True)
class CaseFilter:
    statuses: tuple[Status, ...] = ()
    department: str | None = None
    overdue: bool | None = None
    q: str | None = None
    # Department roles see their own department's cases only.
    scope_department: str | None = None
    scoped: bool = False


@dataclass
class _Where:
    clauses: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def add(self, clause: str, *values: Any) -> None:
        # Each "{}" in the clause becomes the next numbered parameter.
        numbers = [f"${len(self.args) + i + 1}" for i in range(len(values))]
        self.clauses.append(clause.format(*numbers))
        self.args.extend(values)

    @property
    def sql(self) -> str:
        return f"WHERE {' AND '.join(self.clauses)}" if self.clauses else ""


def like_pattern(text: str) -> str:
    """``text`` as a literal substring for ILIKE (its own % and _ match themselves)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(f: CaseFilter) -> _Where:
    where = _Where()
    if f.scoped:
        # NULL for a department role without a department: matches nothing.
        where.add("department = {}", f.scope_department)
    if f.department is not None:
        where.add("department = {}", f.department)
    if f.statuses:
        where.add("status = any({}::text[])", [s.value for s in f.statuses])
    if f.overdue is not None:
        where.add(OVERDUE if f.overdue else f"NOT {OVERDUE}")
    if f.q:
        where.add("(tracking_no ILIKE {0} OR subject ILIKE {0})", like_pattern(f.q))
    return where


async def list_cases(
    db: asyncpg.Pool, f: CaseFilter, *, limit: int, offset: int
) -> tuple[int, list[asyncpg.Record]]:
    """(how many match, the page of them), newest received first."""
    where = _where(f)
    n = len(where.args)
    total = await db.fetchval(f"SELECT count(*) FROM case_view {where.sql}", *where.args)
    rows = await db.fetch(
        f"""SELECT {_COLUMNS} FROM case_view {where.sql}
            ORDER BY received_at DESC NULLS LAST, complaint_id
            LIMIT ${n + 1} OFFSET ${n + 2}""",
        *where.args,
        limit,
        offset,
    )
    return int(total or 0), rows


# -- worklists (docs/supervision-web.md) ----------------------------------------------
# How many rows a worklist shows at most; more is a backlog for the dashboard.
WORKLIST_LIMIT = 500


async def follow_up_worklist(db: asyncpg.Pool, *, limit: int) -> list[asyncpg.Record]:
    """The cases awaiting follow-up (回访): the result was fed back and the
    follow-up is still owed, the earliest due first, with the attempts so far
    that did not reach the complainant."""
    return await db.fetch(
        """SELECT complaint_id, tracking_no, subject, department, handler, channel, round,
                  follow_up_due_at, follow_up_attempts, last_follow_up_at
             FROM case_view
            WHERE status = $1 AND 'follow_up' = any(pending)
            ORDER BY follow_up_due_at NULLS LAST, complaint_id
            LIMIT $2""",
        Status.FED_BACK.value,
        limit,
    )


async def open_supervision(db: asyncpg.Pool, *, limit: int) -> list[asyncpg.Record]:
    """The open 督办 items (projection ``supervision_items``): the ones with an
    answer date first, earliest first, then the rest, oldest raised first."""
    return await db.fetch(
        """SELECT s.event_id, s.complaint_id, s.tracking_no, s.subject, s.status, s.department,
                  s.handler, s.kind, s.deadline, s.deadline_due_at, s.note, s.respond_by,
                  s.raised_at, s.raised_by, s.related_complaint_id,
                  r.tracking_no AS related_tracking_no
             FROM supervision_items s
             LEFT JOIN case_view r ON r.complaint_id::text = s.related_complaint_id
            WHERE s.open
            ORDER BY coalesce(s.respond_by, s.deadline_due_at) NULLS LAST, s.raised_at, s.event_id
            LIMIT $1""",
        limit,
    )


async def reports_about(db: asyncpg.Pool, complaint_id: uuid.UUID) -> list[asyncpg.Record]:
    """The complaints (监督举报) that name ``complaint_id`` as the one whose
    handling they report on, oldest first."""
    return await db.fetch(
        """SELECT complaint_id, tracking_no, status, department, received_at FROM case_view
            WHERE related_complaint_id = $1
            ORDER BY received_at, complaint_id""",
        complaint_id,
    )


async def case_brief(db: asyncpg.Pool, complaint_id: uuid.UUID) -> asyncpg.Record | None:
    """A complaint's tracking number, status and department, for a link to it."""
    return await db.fetchrow(
        """SELECT complaint_id, tracking_no, status, department, received_at FROM case_view
            WHERE complaint_id = $1""",
        complaint_id,
    )


async def case_briefs(
    db: asyncpg.Pool, complaint_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, asyncpg.Record]:
    """:func:`case_brief` of each of ``complaint_ids`` the case index has."""
    rows = await db.fetch(
        """SELECT complaint_id, tracking_no, status, department, received_at FROM case_view
            WHERE complaint_id = any($1::uuid[])""",
        list(complaint_ids),
    )
    return {r["complaint_id"]: r for r in rows}


# -- a department's queue (the workbench) ---------------------------------------------


async def department_queue(
    pool: asyncpg.Pool, statuses: Collection[Status], department: str | None, *, limit: int
) -> list[asyncpg.Record]:
    """The cases of ``department`` (None: every department's) in ``statuses``,
    oldest received first, each with its deadlines and which it still owes."""
    return await pool.fetch(
        """SELECT complaint_id, tracking_no, subject, status, department, handler, received_at,
                  acceptance_due_at, claim_due_at, feedback_due_at, follow_up_due_at, pending
             FROM case_view
            WHERE status = any($1::text[]) AND ($2::text IS NULL OR department = $2)
            ORDER BY received_at NULLS LAST, complaint_id
            LIMIT $3""",
        [s.value for s in statuses],
        department,
        limit,
    )


def next_owed(record: asyncpg.Record) -> tuple[str | None, datetime | None]:
    """The earliest deadline a :func:`department_queue` case still owes, and its kind."""
    owed = [
        (record[column], kind.value)
        for kind, column in DUE_COLUMNS.items()
        if kind.value in (record["pending"] or ()) and record[column] is not None
    ]
    if not owed:
        return None, None
    due, kind = min(owed)
    return kind, due


async def case_departments(pool: asyncpg.Pool) -> list[str]:
    """Every department holding a case, by name."""
    found = await pool.fetch(
        "SELECT DISTINCT department FROM case_view WHERE department IS NOT NULL ORDER BY department"
    )
    return [d["department"] for d in found]


# -- one channel's cases (Open311) -----------------------------------------------------

_CHANNEL_CASES = """
SELECT v.complaint_id, v.tracking_no, v.status, v.service_item, v.department,
       e.data ->> 'description' AS description, e.data ->> 'location' AS location,
       v.received_at, v.updated_at, v.acceptance_due_at, v.feedback_due_at
FROM case_view v
LEFT JOIN events e ON e.stream_id = 'complaint-' || v.complaint_id::text AND e.version = 1
WHERE v.channel = $1"""


async def channel_cases(
    db: asyncpg.Pool,
    channel: Channel,
    *,
    tracking_nos: Collection[str] = (),
    service_items: Collection[str] = (),
    received_from: datetime | None = None,
    received_to: datetime | None = None,
    status_in: Collection[Status] | None = None,
    status_not_in: Collection[Status] | None = None,
    limit: int,
) -> list[asyncpg.Record]:
    """The cases that came in through ``channel``, with the description and
    place their complainant gave, newest received first; ``tracking_nos``
    overrides the other filters. Raises UndefinedTableError before the
    metrics service has made its projection."""
    clauses: list[str] = []
    args: list[Any] = [channel.value]

    def where(clause: str, value: Any) -> None:
        args.append(value)
        clauses.append(clause.format(f"${len(args)}"))

    if tracking_nos:
        where("v.tracking_no = any({}::text[])", list(tracking_nos))
    else:
        if service_items:
            where("v.service_item = any({}::text[])", list(service_items))
        if received_from is not None:
            where("v.received_at >= {}", received_from)
        if received_to is not None:
            where("v.received_at <= {}", received_to)
        if status_in is not None:
            where("v.status = any({}::text[])", [s.value for s in status_in])
        if status_not_in is not None:
            where("NOT v.status = any({}::text[])", [s.value for s in status_not_in])
    sql = "".join(f" AND {c}" for c in clauses)
    return await db.fetch(
        f"{_CHANNEL_CASES}{sql} ORDER BY v.received_at DESC, v.complaint_id LIMIT {int(limit)}",
        *args,
    )


# -- what the routing rule asked of a department -------------------------------------


async def routing_requirements(
    pool: asyncpg.Pool | asyncpg.Connection, complaint_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The requirements (处理要求) of each case's latest routing, for the cases
    routed with some. One query for a whole page of cases (``case_view`` has no
    column for them: they are free text of the routing event)."""
    streams = [f"{STREAM_PREFIX}{cid}" for cid in complaint_ids]
    if not streams:
        return {}
    rows = await pool.fetch(
        """SELECT DISTINCT ON (stream_id) stream_id, data->>'requirements' AS requirements
             FROM events
            WHERE stream_id = any($1::text[]) AND type = 'ComplaintRouted'
            ORDER BY stream_id, version DESC""",
        streams,
    )
    return {
        uuid.UUID(r["stream_id"].removeprefix(STREAM_PREFIX)): r["requirements"]
        for r in rows
        if r["requirements"]
    }


# -- late entries (补录) ---------------------------------------------------------------

_LATE = LateEntryRecorded.event_type()


async def late_entry_counts(conn: asyncpg.Connection | asyncpg.Pool) -> tuple[int, int]:
    """How many late entries (补录) are stored, and how many of them beyond the window."""
    row = await conn.fetchrow(
        "SELECT count(*) AS late,"
        " count(*) FILTER (WHERE NOT (data->>'within_window')::boolean) AS beyond"
        " FROM events WHERE type = $1",
        _LATE,
    )
    assert row is not None
    return int(row["late"]), int(row["beyond"])


async def late_entries(
    conn: asyncpg.Connection | asyncpg.Pool, *, beyond_window: bool, limit: int
) -> list[asyncpg.Record]:
    """The late entries, newest first (only those beyond the window, if asked),
    each with its complaint's tracking number."""
    return await conn.fetch(
        "SELECT m.stream_id, m.version, m.occurred_at, m.recorded_at, m.actor, m.data,"
        " t.tracking_no"
        " FROM events m LEFT JOIN tracking_numbers t"
        "   ON t.complaint_id = substr(m.stream_id, 11)::uuid"
        " WHERE m.type = $1 AND ($2 = false OR NOT (m.data->>'within_window')::boolean)"
        " ORDER BY m.global_position DESC LIMIT $3",
        _LATE,
        beyond_window,
        limit,
    )


# -- the monthly report ----------------------------------------------------------------


async def monthly_report(
    month: str,
    pool: asyncpg.Pool,
    folder: Path,
    *,
    language: Language,
    appraisal_scheme: Path | None = None,
    hotspot_rule: HotspotRule | None = None,
) -> ReportFiles:
    """The month's report (workbook and charts) written into ``folder``, with
    its appraisal (考核) under the configured scheme (``appraisal_scheme``;
    None: the packaged one) and its recurring problems (热点诉求, under
    ``hotspot_rule``; None: the default settings')."""
    # matplotlib takes half a second to import: loaded on the first report
    # asked for, not by every process that reads a view.
    from tousu.services.metrics.appraisal.views import report_appraisals
    from tousu.services.metrics.report.monthly import monthly_report as write

    as_of = utcnow()
    appraisals = await report_appraisals(pool, month, as_of, appraisal_scheme)
    # The month's recurring problems (热点诉求) for their sheet.
    hotspots = await month_hotspots(pool, month, as_of, hotspot_rule or HotspotRule())
    return await write(
        month,
        PgKpiSource(pool),
        folder,
        language=language,
        as_of=as_of,
        appraisals=appraisals,
        hotspots=hotspots,
    )
