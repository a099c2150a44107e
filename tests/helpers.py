"""Helpers shared by the tests: waiting on a condition, building envelopes."""

from __future__ import annotations

import asyncio
import inspect
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tousu.shared.events import Actor, Envelope, utcnow
from tousu.shared.store.postgres import PostgresEventStore

Condition = Callable[[], Awaitable[bool] | bool]
REPO = Path(__file__).resolve().parents[1]


async def tousu(env: dict[str, str], *args: str, stdin: str = "") -> tuple[int, str, str]:
    """Run the real ``tousu`` command in a child process: (exit code, stdout, stderr)."""
    child_env = env | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        "COLUMNS": "250",  # a wide table, so that ids are not cut short
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tousu",
        *args,
        env=child_env,
        cwd=REPO,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


async def eventually(condition: Condition, what: str, timeout: float = 10.0) -> None:
    """Wait until ``condition()`` holds: a polled condition with a deadline, never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if await result if inspect.isawaitable(result) else result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def make_envelope(
    event_type: str = "ComplaintReceived",
    data: dict[str, Any] | None = None,
    *,
    schema_version: int = 1,
    actor: Actor | None = None,
) -> Envelope:
    """A stored-looking envelope for tests that publish or decode events directly."""
    now = utcnow()
    return Envelope(
        event_id=uuid.uuid4(),
        type=event_type,
        stream_id=f"complaint-{uuid.uuid4()}",
        version=1,
        global_position=1,
        occurred_at=now,
        recorded_at=now,
        correlation_id=uuid.uuid4(),
        causation_id=None,
        actor=actor or Actor(id="tousu", role="system"),
        schema_version=schema_version,
        data=data or {},
    )


async def projections_caught_up(store: PostgresEventStore) -> bool:
    """Every projection has taken the store's last event in ``read_all`` order."""
    head = await store.pool.fetchval(
        "SELECT global_position FROM events ORDER BY tx_id DESC, global_position DESC LIMIT 1"
    )
    positions = await store.pool.fetch("SELECT position FROM projection_state")
    return bool(positions) and all(r["position"] == (head or 0) for r in positions)


async def project_everything(store: PostgresEventStore) -> None:
    """Bring the projections up to date without a running service.

    ``read_all`` holds back while any transaction older than an event is
    open anywhere on the server (another test's, say), so step until caught
    up rather than until a step finds nothing.
    """
    from tousu.services.metrics.projections import PROJECTIONS
    from tousu.services.metrics.projections.live import ProjectionRunner
    from tousu.shared.calendar import WorkdayCalendar

    calendar = WorkdayCalendar()
    runner = ProjectionRunner(store, PROJECTIONS, lambda: calendar)
    await runner.prepare()

    async def stepped() -> bool:
        for projection in PROJECTIONS:
            await runner.step(projection)
        return await projections_caught_up(store)

    await eventually(stepped, "the projections to catch up")
