"""Owed deadlines, read from ``case_view``: the overdue list and the watcher's
work both start here."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from tousu.services.metrics.supervision.policy import SUPERVISED, overdue_working_days
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.events.types import DeadlineKind
from tousu.shared.store.postgres import Connection

# The deadlines a case can be overdue on — the supervised ones: the return
# window is the department's right, nobody is late for not using it — and
# the ``case_view`` column holding each one's due instant.
DUE_COLUMNS: Mapping[DeadlineKind, str] = {
    kind: f"{kind.value}_due_at" for kind in DeadlineKind if kind in SUPERVISED
}


def overdue_sql(at: str, row: str = "") -> str:
    """The overdue rule, the one place it is written: SQL true when ``case_view``
    row ``row`` (its alias and a dot, or nothing) still owes a deadline due
    before ``at`` (an SQL instant: a parameter, ``now()``)."""
    owed = [
        f"('{kind.value}' = any({row}pending) AND {row}{column} < {at})"
        for kind, column in DUE_COLUMNS.items()
    ]
    return "(\n    " + "\n    OR ".join(owed) + "\n)"


# The due instant of owed deadline ``k.kind`` of case ``v`` (NULL: not one
# that can be overdue).
_DUE_AT = (
    "CASE k.kind "
    + " ".join(f"WHEN '{kind.value}' THEN v.{column}" for kind, column in DUE_COLUMNS.items())
    + " END"
)

_OWED = f"""
SELECT * FROM (
    SELECT v.complaint_id, v.tracking_no, v.status, v.department, v.handler, v.subject,
           v.round, v.provisional, k.kind,
           {_DUE_AT} AS due_at,
           k.kind = any(v.warned) AS warned,
           k.kind = any(v.overdue_raised) AS overdue_raised
    FROM case_view v, unnest(v.pending) AS k(kind)
    WHERE v.pending <> '{{}}' AND ($2::text IS NULL OR v.department = $2)
) owed
WHERE due_at < $1 AND ($3::text IS NULL OR kind = $3)
ORDER BY due_at, complaint_id, kind
"""


@dataclass(frozen=True)
class OwedDeadline:
    complaint_id: uuid.UUID
    tracking_no: str | None
    status: str
    department: str | None
    handler: str | None
    subject: str | None
    round: int
    provisional: bool
    kind: DeadlineKind
    due_at: datetime
    warned: bool  # the warning for this very deadline has been raised
    overdue_raised: bool  # and the overdue notice


async def owed_before(
    pool: asyncpg.Pool,
    before: datetime,
    *,
    department: str | None = None,
    kind: DeadlineKind | None = None,
) -> list[OwedDeadline]:
    """Deadlines still owed whose due instant is before ``before``, earliest first."""
    records = await pool.fetch(_OWED, before, department, kind.value if kind else None)
    return [
        OwedDeadline(**{**dict(r), "kind": DeadlineKind(r["kind"])})
        for r in records
        if r["due_at"] is not None
    ]


@dataclass(frozen=True)
class Overdue:
    deadline: OwedDeadline
    working_days_late: int
    hours_late: float


async def overdue(
    pool: asyncpg.Pool,
    now: datetime,
    calendar: WorkdayCalendar,
    *,
    department: str | None = None,
    kind: DeadlineKind | None = None,
) -> list[Overdue]:
    """What is late now and by how much, the longest late first."""
    owed = await owed_before(pool, now, department=department, kind=kind)
    # Counted in a worker thread: a calendar year not yet compiled in this
    # process costs milliseconds each, and the event loop must stay free for
    # every other request (/healthz included) meanwhile.
    return await asyncio.to_thread(_lateness, owed, now, calendar)


def _lateness(owed: list[OwedDeadline], now: datetime, calendar: WorkdayCalendar) -> list[Overdue]:
    return [
        Overdue(
            d,
            overdue_working_days(d.due_at, now, calendar),
            round((now - d.due_at).total_seconds() / 3600, 1),
        )
        for d in owed
    ]


_PROVISIONAL = """
SELECT complaint_id FROM case_view
WHERE provisional AND status NOT IN ('closed', 'rejected')
  AND EXISTS (
      SELECT 1 FROM unnest(ARRAY[acceptance_due_at, claim_due_at, return_due_at,
                                 feedback_due_at, follow_up_due_at]) AS due
      WHERE due IS NOT NULL
        AND extract(year FROM due AT TIME ZONE 'Asia/Shanghai')::int = any($1::int[]))
ORDER BY complaint_id
"""


async def provisional_in(pool: asyncpg.Pool | Connection, years: Iterable[int]) -> list[uuid.UUID]:
    """Open cases with a provisional deadline, some deadline of which falls in ``years``."""
    return [r["complaint_id"] for r in await pool.fetch(_PROVISIONAL, sorted(years))]


_OVERDUE_BY_DEPARTMENT = f"""
SELECT v.department, count(*) FILTER (WHERE {overdue_sql("$1", "v.")}) AS overdue
FROM case_view v
WHERE v.pending <> '{{}}'  -- open cases only: the partial index on pending finds them
GROUP BY 1
"""


async def overdue_cases_by_department(pool: asyncpg.Pool, now: datetime) -> dict[str | None, int]:
    """Cases owing a deadline that has passed at ``now``, per holding department
    (None: none yet); every department holding a case that owes a deadline is
    there, with 0 if none is late."""
    records = await pool.fetch(_OVERDUE_BY_DEPARTMENT, now)
    return {r["department"]: int(r["overdue"]) for r in records}
