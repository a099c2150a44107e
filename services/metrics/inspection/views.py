"""What the rest of tousu reads of the quality inspection: the sampled cases
of a month with their reviews, a case's review, and the review scores the
appraisal counts (``review_scores``). The queries of ``inspection_cases``
are written here and in ``records.py`` (its writes), nowhere else."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from tousu.services.metrics.inspection.checklist import GROUPS, Checklist, ChecklistItem, checklists
from tousu.shared.domain.inspection import replay, stream_of
from tousu.shared.events.quality import InspectionReviewed, InspectionSampleDrawn
from tousu.shared.store import EventStore
from tousu.shared.store.postgres import Connection

__all__ = [
    "GROUPS",
    "Checklist",
    "ChecklistItem",
    "Draw",
    "ReviewScore",
    "SampleRow",
    "case_reviews",
    "checklist",
    "drawn",
    "review_scores",
    "reviews_of",
    "sample",
]

Db = asyncpg.Pool | Connection


@dataclass(frozen=True)
class ReviewScore:
    """One reviewed case, as the appraisal (考核) counts it."""

    complaint_id: str
    department: str
    handler: str | None
    score: float  # percent of the checklist's maximum
    passed: bool
    period: str
    recorded_at: datetime


async def review_scores(
    conn: asyncpg.Pool | asyncpg.Connection, frm: datetime, to: datetime, as_of: datetime
) -> list[ReviewScore]:
    """The reviews of the draws whose month starts in ``[frm, to)``, recorded
    at or before ``as_of`` (a review stored later is not counted "as of" an
    earlier instant). Ordered by period, department and case."""
    rows = await conn.fetch(
        """SELECT period, complaint_id, department, handler, score, passed, reviewed_at
             FROM inspection_cases
            WHERE window_from >= $1 AND window_from < $2
              AND reviewed_at IS NOT NULL AND reviewed_at <= $3
            ORDER BY period, department, complaint_id""",
        frm,
        to,
        as_of,
    )
    return [
        ReviewScore(
            complaint_id=str(r["complaint_id"]),
            department=r["department"],
            handler=r["handler"],
            score=float(r["score"]),
            passed=bool(r["passed"]),
            period=r["period"],
            recorded_at=r["reviewed_at"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class SampleRow:
    """A sampled case and its review, if it has one."""

    period: str
    complaint_id: str
    tracking_no: str | None
    department: str
    handler: str | None
    reasons: tuple[str, ...]
    drawn_at: datetime
    draw_event_id: str
    review_event_id: str | None
    score: float | None
    passed: bool | None
    action: str | None
    reviewer: str | None
    reviewed_at: datetime | None

    @property
    def reviewed(self) -> bool:
        return self.review_event_id is not None


_COLUMNS = """period, complaint_id, tracking_no, department, handler, reasons, drawn_at,
    draw_event_id, review_event_id, score, passed, action, reviewer, reviewed_at"""


def _row(r: asyncpg.Record) -> SampleRow:
    return SampleRow(
        period=r["period"],
        complaint_id=str(r["complaint_id"]),
        tracking_no=r["tracking_no"],
        department=r["department"],
        handler=r["handler"],
        reasons=tuple(r["reasons"]),
        drawn_at=r["drawn_at"],
        draw_event_id=str(r["draw_event_id"]),
        review_event_id=str(r["review_event_id"]) if r["review_event_id"] else None,
        score=None if r["score"] is None else float(r["score"]),
        passed=r["passed"],
        action=r["action"],
        reviewer=r["reviewer"],
        reviewed_at=r["reviewed_at"],
    )


async def sample(conn: Db, period: str) -> list[SampleRow]:
    """The month's sampled cases, by department and tracking number."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM inspection_cases WHERE period = $1"
        " ORDER BY department, tracking_no NULLS LAST, complaint_id",
        period,
    )
    return [_row(r) for r in rows]


async def case_reviews(conn: Db, complaint_id: uuid.UUID | str) -> list[SampleRow]:
    """The inspections a case was sampled in (with their reviews), newest first."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM inspection_cases WHERE complaint_id = $1 ORDER BY period DESC",
        uuid.UUID(str(complaint_id)),
    )
    return [_row(r) for r in rows]


def checklist(version: int | None = None) -> Checklist:
    """The checklist of ``version`` (a draw's), or the current one."""
    found = checklists()
    return found.current if version is None else found.version(version)


@dataclass(frozen=True)
class Draw:
    """A month's draw as recorded: its parameters, who drew it and when."""

    data: InspectionSampleDrawn
    event_id: str
    recorded_at: datetime
    drawn_by: str


async def drawn(store: EventStore, period: str) -> Draw | None:
    """The month's draw, read from its stream (None before it is drawn)."""
    history = await store.read_stream(stream_of(period))
    if not history or replay(history).drawn is None:
        return None
    head = history[0]
    return Draw(
        InspectionSampleDrawn.model_validate(head.data),
        str(head.event_id),
        head.recorded_at,
        head.actor.id,
    )


async def reviews_of(store: EventStore, period: str) -> dict[str, InspectionReviewed]:
    """The month's reviews as recorded (item by item), by complaint id."""
    return {
        e.data["complaint_id"]: InspectionReviewed.model_validate(e.data)
        for e in await store.read_stream(stream_of(period))
        if e.type == InspectionReviewed.event_type()
    }
