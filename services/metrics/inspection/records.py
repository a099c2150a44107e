"""The writes of ``inspection_cases`` (migration 0033), in the transaction that
appends the event they follow, so the rows and the ``inspection-<period>``
stream never disagree."""

from __future__ import annotations

import uuid

from tousu.shared.events import Envelope
from tousu.shared.events.quality import InspectionReviewed, InspectionSampleDrawn
from tousu.shared.store.postgres import Connection


async def insert_sample(conn: Connection, drawn: Envelope) -> None:
    """One row per case of the stored ``InspectionSampleDrawn``."""
    data = InspectionSampleDrawn.model_validate(drawn.data)
    await conn.executemany(
        """INSERT INTO inspection_cases (period, complaint_id, tracking_no, department, handler,
                                         reasons, window_from, window_to, drawn_at, draw_event_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)""",
        [
            (
                data.period,
                uuid.UUID(case.complaint_id),
                case.tracking_no,
                case.department,
                case.handler,
                list(case.reasons),
                data.window_from,
                data.window_to,
                drawn.recorded_at,
                drawn.event_id,
            )
            for case in data.cases
        ],
    )


async def record_review(conn: Connection, reviewed: Envelope) -> None:
    """The stored ``InspectionReviewed`` on its case's row. The decider has
    refused a second review already; the WHERE keeps a row from being
    overwritten even so (a concurrent review loses at the stream's version)."""
    data = InspectionReviewed.model_validate(reviewed.data)
    status = await conn.execute(
        """UPDATE inspection_cases
              SET review_event_id = $3, score = $4, passed = $5, action = $6,
                  reviewer = $7, reviewed_at = $8
            WHERE period = $1 AND complaint_id = $2 AND review_event_id IS NULL""",
        data.period,
        uuid.UUID(data.complaint_id),
        reviewed.event_id,
        data.score,
        data.passed,
        data.action,
        reviewed.actor.id,
        reviewed.recorded_at,
    )
    if status != "UPDATE 1":
        raise RuntimeError(f"no unreviewed sampled case {data.complaint_id} in {data.period}")
