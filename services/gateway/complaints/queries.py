"""The staff case list, read from the ``case_view`` projection."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from tousu.shared.domain.status import Status

# Where the case owes something (an acceptance decision, a claim, the result
# feedback of the current round, a follow-up) and its date has passed.
OVERDUE = """(
    ('acceptance' = any(pending) AND acceptance_due_at < now())
    OR ('claim' = any(pending) AND claim_due_at < now())
    OR ('feedback' = any(pending) AND feedback_due_at < now())
    OR ('follow_up' = any(pending) AND follow_up_due_at < now())
)"""

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
