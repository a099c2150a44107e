"""`tousu demo seed` against the services as processes, on their default
settings (late-entry windows included) and a fresh database: every outcome
shows up, and every back-dated step is recorded as a late entry (补录) with
the demo's reason."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import tousu
from tousu.demo.driver import DEMO_REASON
from tousu.shared.store.postgres import PostgresEventStore


async def count(store: PostgresEventStore, event_type: str) -> int:
    return int(
        await store.pool.fetchval(
            "SELECT count(DISTINCT stream_id) FROM events WHERE type = $1", event_type
        )
    )


async def test_seed_makes_varied_complaints(
    running_services: Path, store: PostgresEventStore, child_env: dict[str, str]
) -> None:
    code, out, err = await tousu(child_env, "demo", "seed", "--n", "12", "--seed", "7")
    assert code == 0, out + err
    assert "回访满意，办结" in out and "合计" in out
    assert await count(store, "ComplaintReceived") >= 12
    for event_type in ("ComplaintClosed", "ComplaintRejected", "ComplaintReopened"):
        assert await count(store, event_type) >= 1, event_type
    channels = await store.pool.fetch(
        "SELECT DISTINCT data ->> 'channel' AS channel FROM events WHERE type = 'ComplaintReceived'"
    )
    assert {r["channel"] for r in channels} == {"phone", "web", "wechat", "letter", "walk_in"}
    # Nothing was recorded in the future, and the spread covers weeks.
    span = await store.pool.fetchrow(
        "SELECT min(occurred_at) AS first, max(occurred_at) AS last, now() AS now FROM events"
    )
    assert span is not None
    assert span["last"] <= span["now"] and (span["now"] - span["first"]).days >= 5
    marks = await store.pool.fetch(
        "SELECT data ->> 'reason' AS reason FROM events "
        "WHERE type = 'LateEntryRecorded' AND data ->> 'window' <> 'system'"
    )  # (routing and the deadline watcher date their steps by the facts they follow)
    assert len(marks) >= 12
    assert {m["reason"] for m in marks} == {DEMO_REASON}
