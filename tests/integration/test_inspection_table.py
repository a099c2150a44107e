"""The inspection table (migration 0033): rows written with the draw's and the
review's appends, and ``review_scores`` as the appraisal reads it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tousu.services.metrics.inspection import records
from tousu.services.metrics.inspection.views import review_scores, sample
from tousu.shared.events import Actor, new_event
from tousu.shared.events.quality import (
    CheckScore,
    InspectionReviewed,
    InspectionSampleDrawn,
    SampledCase,
)
from tousu.shared.store.postgres import PostgresEventStore

SUPERVISOR = Actor(id="sup", role="supervisor")
MAY = datetime(2026, 4, 30, 16, tzinfo=UTC)  # 2026-05-01 00:00 Shanghai


async def test_reviews_are_read_by_the_month_and_as_of(store: PostgresEventStore) -> None:
    case = str(uuid.uuid4())
    drawn = InspectionSampleDrawn(
        period="2026-05",
        window_from=MAY,
        window_to=MAY + timedelta(days=31),
        seed=7,
        share=0.1,
        minimum=2,
        checklist_version=1,
        population={"dept-a": 1},
        cases=[
            SampledCase(complaint_id=case, department="dept-a", handler="h1", reasons=["random"])
        ],
    )
    async with store.unit_of_work() as uow:
        [stored] = await uow.append(
            "inspection-2026-05", 0, [new_event(drawn, actor=SUPERVISOR, occurred_at=MAY)]
        )
        await records.insert_sample(uow.connection, stored)  # type: ignore[attr-defined]
    reviewed = InspectionReviewed(
        period="2026-05",
        complaint_id=case,
        department="dept-a",
        handler="h1",
        checklist_version=1,
        scores=[CheckScore(item="x", points=3, max_points=4)],
        score=75.0,
        passed=False,
    )
    async with store.unit_of_work() as uow:
        [review] = await uow.append(
            "inspection-2026-05", 1, [new_event(reviewed, actor=SUPERVISOR, occurred_at=MAY)]
        )
        await records.record_review(uow.connection, review)  # type: ignore[attr-defined]

    conn = store.pool
    [row] = await sample(conn, "2026-05")
    scores = await review_scores(conn, MAY, MAY + timedelta(days=31), review.recorded_at)
    before = await review_scores(
        conn, MAY, MAY + timedelta(days=31), review.recorded_at - timedelta(microseconds=1)
    )
    other_month = await review_scores(
        conn, MAY + timedelta(days=31), MAY + timedelta(days=62), review.recorded_at
    )
    assert row.reviewed and row.score == 75.0 and row.reasons == ("random",)
    assert [
        (s.complaint_id, s.department, s.handler, s.score, s.passed, s.period) for s in scores
    ] == [(case, "dept-a", "h1", 75.0, False, "2026-05")]
    assert scores[0].recorded_at == review.recorded_at
    assert before == [] and other_month == []
