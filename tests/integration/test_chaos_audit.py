"""The chaos audit's check of the projections (bench/chaos/audit.py): nothing
to report while they follow the events, and every row changed behind their
back counted. Real PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from bench.chaos.audit import projections_differing
from tests.domain_kit import OPERATOR, START, ReplayExecutor
from tests.helpers import project_everything
from tests.lifecycle import register
from tousu.shared.domain import commands as c
from tousu.shared.store.postgres import PostgresEventStore


async def accepted_complaints(store: PostgresEventStore, n: int) -> None:
    executor = ReplayExecutor(store)
    for i in range(n):
        at = START + timedelta(hours=i)
        accept = (
            at + timedelta(hours=1),
            c.AcceptComplaint,
            OPERATOR,
            {"category": "service_quality"},
        )
        await register(executor, at, i, accept)


async def test_rows_changed_behind_the_projections_back_are_counted(
    store: PostgresEventStore,
) -> None:
    await accepted_complaints(store, 3)
    await project_everything(store)
    assert await projections_differing(store.pool) == {
        "case_view": 0,
        "kpi_facts": 0,
        "supervision_items": 0,
        "complaint_terms": 0,
    }

    # One row wrong: counted twice, as the row kept and the row it should be.
    await store.pool.execute(
        "UPDATE case_view SET status = 'closed' "
        "WHERE complaint_id = (SELECT complaint_id FROM case_view LIMIT 1)"
    )
    # One row lost (of a complaint's several: one per change of its figures).
    await store.pool.execute(
        "DELETE FROM kpi_facts WHERE (complaint_id, valid_from) = "
        "(SELECT complaint_id, valid_from FROM kpi_facts LIMIT 1)"
    )
    assert await projections_differing(store.pool) == {
        "case_view": 2,
        "kpi_facts": 1,
        "supervision_items": 0,
        "complaint_terms": 0,
    }
