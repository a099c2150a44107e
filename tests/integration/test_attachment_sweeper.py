"""The sweep run by itself (issue 17): the periodic task removes an old file no
event names and keeps a referenced one and a young one, one replica sweeping at
a time, and a quiet tick does not read the events. Real PostgreSQL, real files
in the data folder; the task is driven directly or run with a tiny interval
and waited on until the file is gone."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from tests import attachment_files as files
from tests.helpers import eventually
from tests.integration.test_attachments import file_with_evidence
from tests.processes import spawn, stop
from tousu.shared.attachments.files import Attachments
from tousu.shared.attachments.limits import AttachmentLimits
from tousu.shared.attachments.store import LocalStore, blob_name
from tousu.shared.attachments.sweep import Swept
from tousu.shared.attachments.sweeper import SWEEP_LOCK_KEY, Sweeper
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore
from tousu.shared.tasks import cancel_and_wait

GRACE = timedelta(hours=1)


@pytest.fixture
async def attachments(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[Attachments]:
    yield Attachments(LocalStore(settings.data_dir / "attachments"), pool, AttachmentLimits())


def age(root: Path, pattern: str = "*", hours: float = 2) -> None:
    """Make the files stored so far (those ``pattern`` names) older than the grace period."""
    past = time.time() - hours * 3600
    for path in root.rglob(pattern):
        if path.is_file():
            os.utime(path, (past, past))


async def old_young_and_referenced(
    store: PostgresEventStore, attachments: Attachments
) -> tuple[str, list[str]]:
    """An old orphan (its command failed); files an event names, as old; a young orphan."""
    _cid, _no, photo, report = await file_with_evidence(store, attachments)
    orphan = await attachments.add(None, files.docx(), "failed upload.docx")
    assert isinstance(attachments.store, LocalStore)
    age(attachments.store.root)
    young = await attachments.add(None, files.png(), "on its way.png")
    kept = [
        blob_name(photo.owner, photo.sha256),
        blob_name(photo.owner, photo.sha256, thumbnail=True),
        blob_name(report.owner, report.sha256),
        blob_name(None, young.sha256),
    ]
    return blob_name(None, orphan.sha256), kept


def sweeper(
    store: PostgresEventStore, attachments: Attachments, registry: CollectorRegistry
) -> Sweeper:
    return Sweeper(store.pool, attachments.store, grace=GRACE, interval=0.01, registry=registry)


async def test_the_running_task_removes_an_old_orphan_and_keeps_the_rest(
    store: PostgresEventStore, attachments: Attachments
) -> None:
    orphan, kept = await old_young_and_referenced(store, attachments)
    registry = CollectorRegistry()
    task = asyncio.create_task(sweeper(store, attachments, registry).run())
    try:

        async def orphan_gone() -> bool:
            return not await attachments.store.exists(orphan)

        await eventually(orphan_gone, "the running sweep to remove the old orphan")
    finally:
        await cancel_and_wait(task)
    for name in kept:
        assert await attachments.store.exists(name), name
    swept = registry.get_sample_value("tousu_attachments_swept_total", {"kind": "unreferenced"})
    assert swept == 1


async def test_a_quiet_tick_does_not_read_the_events(
    store: PostgresEventStore, attachments: Attachments
) -> None:
    orphan, kept = await old_young_and_referenced(store, attachments)
    task = sweeper(store, attachments, CollectorRegistry())
    first = await task.tick()
    assert first is not None and first.removed == [orphan]
    left = [blob.name async for blob in attachments.store.listing()]
    assert set(kept) <= set(left) and first.kept == len(left)  # the young photo's thumbnail too
    # Every old file left is known referenced: the next tick stops at the listing
    # (a full sweep would have counted the kept files).
    assert await task.tick() == Swept()
    # A new old orphan is seen again.
    late = await attachments.add(None, files.pdf(), "another failure.pdf")
    assert isinstance(attachments.store, LocalStore)
    age(attachments.store.root, f"{late.sha256}*")
    again = await task.tick()
    assert again is not None and again.removed == [blob_name(None, late.sha256)]


async def test_one_replica_sweeps_at_a_time(
    store: PostgresEventStore, attachments: Attachments
) -> None:
    orphan, _kept = await old_young_and_referenced(store, attachments)
    task = sweeper(store, attachments, CollectorRegistry())
    async with store.pool.acquire() as other, other.transaction():
        await other.execute("SELECT pg_advisory_xact_lock($1)", SWEEP_LOCK_KEY)
        assert await task.tick() is None  # the other replica is sweeping
        assert await attachments.store.exists(orphan)
    swept = await task.tick()
    assert swept is not None and swept.removed == [orphan]


async def test_the_metrics_service_sweeps_by_itself(
    store: PostgresEventStore, attachments: Attachments, child_env: dict[str, str], tmp_path: Path
) -> None:
    """The service as deployed: `tousu service metrics` with a short interval
    removes the old orphan and logs it at INFO."""
    orphan, kept = await old_young_and_referenced(store, attachments)
    env = {
        **child_env,
        "TOUSU_ATTACHMENTS_SWEEP_GRACE_HOURS": "1",  # the test's files are two hours old
        "TOUSU_ATTACHMENTS_SWEEP_INTERVAL": "0.2",
    }
    proc = spawn("metrics", env, tmp_path)
    try:

        async def orphan_gone() -> bool:
            return not await attachments.store.exists(orphan)

        await eventually(orphan_gone, "the metrics service to sweep the old orphan", timeout=60)
        assert stop(proc) == 0, (tmp_path / "metrics.log").read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for name in kept:
        assert await attachments.store.exists(name), name
    log = (tmp_path / "metrics.log").read_text()
    assert "attachment sweep removed files" in log and orphan in log
