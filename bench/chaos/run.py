"""One chaos run: servers and processes up, complaints driven while each kind
of server is killed, a quiet system awaited, then the audit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.chaos.audit import audit, unsettled
from bench.chaos.drive import Driver, RoutedWatch, handler_accounts
from bench.chaos.kills import Killer, schedule
from bench.chaos.processes import Processes
from bench.chaos.servers import Servers
from bench.fleet import logged_errors
from tousu.database import prepare_database
from tousu.shared.application.credentials import signed_connect
from tousu.shared.naming import Naming
from tousu.shared.nats_setup import ensure_streams
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

REPO = Path(__file__).resolve().parents[2]
# Every NATS-facing service; the gateway only fronts them over HTTP.
SERVICES = ("intake", "routing", "handling", "followup", "metrics")

Progress = Callable[[int, int, int], None]  # (submitted, closed, kills done)


@dataclass(frozen=True)
class ChaosConfig:
    complaints: int = 2000
    in_flight: int = 100
    seed: int = 1
    pause: float = 0.5  # seconds a killed server stays down
    settle_timeout: float = 120.0  # for the last complaints and a quiet system
    reopen_every: int = 5
    keep: Path | None = None  # keep the data folder (logs) here instead of a temp one


def _child_env(database_url: str, nats_url: str, naming: Naming, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TOUSU_DATABASE_URL=database_url,
        TOUSU_NATS_URL=nats_url,
        TOUSU_SUBJECT_ROOT=naming.root,
        TOUSU_DATA_DIR=str(data_dir),
        TOUSU_LOG_FORMAT="json",
        TOUSU_AUTO_ACCEPT="1",
        TOUSU_AUTO_ROUTE="1",
        # A notice left "sending" by a killed dispatcher is taken over soon.
        TOUSU_NOTIFY_LEASE="5",
        # A send that failed while PostgreSQL restarted is tried again soon.
        TOUSU_NOTIFY_BACKOFF_BASE="1",
        # Every log line reaches the file before a SIGKILL can drop it: the
        # audit counts the SMS hand-overs there.
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    return env


async def run_chaos(config: ChaosConfig, progress: Progress | None = None) -> dict[str, Any]:
    if config.keep is not None:
        config.keep.mkdir(parents=True, exist_ok=True)
        return await _run(config, config.keep, progress)
    with tempfile.TemporaryDirectory(prefix="tousu-chaos-") as folder:
        return await _run(config, Path(folder), progress)


async def _run(config: ChaosConfig, data_dir: Path, progress: Progress | None) -> dict[str, Any]:
    logs = data_dir / "services"
    logs.mkdir(exist_ok=True)
    servers = Servers(data_dir / "servers")
    naming = Naming("chaos")
    started = time.monotonic()
    await asyncio.to_thread(servers.start)
    processes = Processes(
        _child_env(servers.database_url, servers.nats_url, naming, data_dir), logs, SERVICES
    )
    try:
        await prepare_database(servers.database_url)
        await handler_accounts(servers.database_url)
        # Signed as the services (sharing its data folder's key) expect.
        bench_settings = Settings(data_dir=data_dir, subject_root=naming.root)
        nc = await signed_connect(bench_settings, servers.nats_url, "tousu-chaos", sender="bench")
        try:
            await ensure_streams(nc.jetstream(), naming)
            processes.start_all()
            for name in SERVICES:
                await processes.wait_answering(nc, naming, name)
            startup = time.monotonic() - started
            figures = await _drive_and_audit(config, servers, processes, nc, naming, logs, progress)
            figures["startup_s"] = round(startup, 1)
            figures["errors_logged"] = logged_errors(logs)
            figures["crashed_and_restarted"] = dict(processes.crashes)
            return figures
        finally:
            processes.stop()
            await nc.close()
    finally:
        await asyncio.to_thread(servers.stop)


async def _drive_and_audit(
    config: ChaosConfig,
    servers: Servers,
    processes: Processes,
    nc: Any,
    naming: Naming,
    logs: Path,
    progress: Progress | None,
) -> dict[str, Any]:
    watch = RoutedWatch(servers.database_url)
    driver = Driver(
        nc,
        naming,
        watch,
        run_id=uuid.uuid4().hex[:8],
        seed=config.seed,
        reopen_every=config.reopen_every,
    )
    pool = await asyncpg.create_pool(servers.database_url, min_size=1, max_size=2)
    killer = Killer(servers, processes, nc, naming, pool, config.pause)
    targets = schedule(SERVICES)
    planned = driver.commands_planned(config.complaints)
    began = time.monotonic()
    tasks = [asyncio.create_task(watch.run()), asyncio.create_task(processes.supervise())]
    if progress is not None:
        tasks.append(asyncio.create_task(_report(driver, killer, progress)))
    try:
        kills = asyncio.create_task(
            killer.run(
                targets,
                lambda: driver.tally.acknowledged_count / planned,
                began,
            )
        )
        held = (config.complaints * 17 // 20, killer.last_begun)
        await driver.drive(config.complaints, config.in_flight, hold=held)
        await kills
        driven = time.monotonic() - began
    finally:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            pool.terminate()
    if progress is not None:
        progress(driver.tally.submitted, driver.tally.closed, len(killer.done))
    # The pool of before the PostgreSQL kill is gone; the audit has its own,
    # the store's, which reads events as the services do.
    store = await PostgresEventStore.connect(servers.database_url, min_size=1, max_size=2)
    pool = store.pool
    try:
        js = nc.jetstream()
        settle_started = time.monotonic()
        deadline = settle_started + config.settle_timeout
        waited_for: list[str] = []  # what kept the system busy, as it changed
        last: str | None = None
        while True:  # polled: the servers announce no "quiet"
            reason = await unsettled(pool, js, naming)
            if reason is None or time.monotonic() > deadline:
                break
            kind = re.sub(r"\d+", "#", reason)  # a new line per kind, not per count
            if kind != last:
                last = kind
                waited_for.append(f"{time.monotonic() - settle_started:.1f}s: {reason}")
            await asyncio.sleep(0.2)
        settled = time.monotonic() - settle_started
        figures = await audit(pool, js, naming, driver.tally, logs)
    finally:
        await store.close()
    figures["settle_waited_for"] = waited_for[:20]
    figures["unsettled_at_audit"] = reason  # None unless the wait timed out
    figures["kills"] = [asdict(k) for k in killer.done]
    figures["kills_planned"] = len(targets)
    figures["commands"]["planned"] = planned
    figures["driver_failures_first"] = driver.tally.failures[:5]
    figures["duration_s"] = {
        "drive": round(driven, 1),
        "settle": round(settled, 1),
        "total": round(time.monotonic() - began, 1),
    }
    figures["throughput_complaints_per_s"] = round(config.complaints / driven, 1)
    figures["config"] = {
        "complaints": config.complaints,
        "in_flight": config.in_flight,
        "seed": config.seed,
        "pause_s": config.pause,
    }
    return figures


async def _report(driver: Driver, killer: Killer, progress: Progress) -> None:
    while True:
        progress(driver.tally.submitted, driver.tally.closed, len(killer.done))
        await asyncio.sleep(0.5)
