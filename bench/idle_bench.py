"""An idle stack: what tousu's processes cost when no complaint comes in.

The relay and every service run as processes of their own, as in the pipeline
benchmark, in a scratch database and subject root. Once all of them answer and
have settled, nothing is submitted for a window; measured over it: each
process's CPU (milliseconds per second) and wake-ups (voluntary context
switches per second, threads included), the CPU of the scratch database's
PostgreSQL backends, and the transactions committed in that database per
second. A quiet system should cost next to nothing: nothing wakes without work
but the few safety timers.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]

from bench.fleet import Fleet, backend_cpu_seconds, logged_errors
from bench.pipeline_bench import (
    NATS_SERVICES,
    POSTGRES,
    SERVICES,
    _child_env,
    _commits,
    _free_port,
)
from bench.scratch import Scratch
from tousu.shared.application.credentials import signed_connect
from tousu.shared.nats_setup import ensure_streams
from tousu.shared.settings import Settings

# Seconds (quick, full): settling after startup, then the measured window.
# Settling outlasts PostgreSQL's 10 s delay in reporting an idle backend's
# transactions, so that startup's are not counted in the window.
SETTLE = (11.0, 15.0)
WINDOW = (10.0, 30.0)


def _cpu_seconds(pid: int) -> float:
    """CPU seconds of a process's threads: from the scheduler's nanosecond
    counts where Linux has them (psutil's figures come in 10 ms ticks, coarse
    for a process that uses a few milliseconds a second), else psutil's."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            total += int((task / "schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)
    return total / 1e9


def _fleet_cpu(fleet: Fleet) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, proc in fleet.processes.items():
        try:
            out[name] = _cpu_seconds(proc.pid)
        except psutil.NoSuchProcess:
            continue
    return out


async def _backends_cpu(database_url: str) -> dict[int, float]:
    """CPU seconds of each PostgreSQL backend of the database (by pid)."""
    out: dict[int, float] = {}
    for pid in await backend_cpu_seconds(database_url):
        try:
            out[pid] = _cpu_seconds(pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


def _wakeups(fleet: Fleet) -> dict[str, int]:
    """Voluntary context switches of each process so far, all its threads."""
    out: dict[str, int] = {}
    for name, proc in fleet.processes.items():
        try:
            out[name] = psutil.Process(proc.pid).num_ctx_switches().voluntary
        except psutil.NoSuchProcess:
            continue
    return out


async def measure_idle(fleet: Fleet, database_url: str, window: float) -> dict[str, Any]:
    """The window's figures of a running, quiet fleet."""
    cpu_before = _fleet_cpu(fleet)
    wake_before = _wakeups(fleet)
    backends_before = await _backends_cpu(database_url)
    commits_before = await _commits(database_url)
    started = time.monotonic()
    await asyncio.sleep(window)
    elapsed = time.monotonic() - started
    cpu_after = _fleet_cpu(fleet)
    wake_after = _wakeups(fleet)
    backends_after = await _backends_cpu(database_url)
    # Less this probe's own commit (one a connection: the statistics count it).
    commits = await _commits(database_url) - commits_before - 1

    def per_s(value: float) -> float:
        return round(value / elapsed, 2)

    cpu = {name: per_s(1000 * (cpu_after[name] - cpu_before.get(name, 0.0))) for name in cpu_after}
    wakeups = {name: per_s(wake_after[name] - wake_before.get(name, 0)) for name in wake_after}
    # A backend started in the window counts from its start.
    backends = sum(cpu - backends_before.get(pid, 0.0) for pid, cpu in backends_after.items())
    postgres = per_s(1000 * backends)
    return {
        "window_s": round(elapsed, 1),
        "cpu_ms_per_s": dict(sorted(cpu.items())),
        "cpu_ms_per_s_total": round(sum(cpu.values()), 2),
        POSTGRES + "_cpu_ms_per_s": postgres,
        "postgres_backends": len(backends_after),
        "wakeups_per_s": dict(sorted(wakeups.items())),
        "wakeups_per_s_total": round(sum(wakeups.values()), 1),
        # PostgreSQL's statistics lag their backends by up to a second or so.
        "transactions_per_s": per_s(max(commits, 0)),
    }


async def run_idle_bench(space: Scratch, quick: bool) -> dict[str, Any]:
    settle = SETTLE[0 if quick else 1]
    window = WINDOW[0 if quick else 1]
    with tempfile.TemporaryDirectory(prefix="tousu-idle-") as folder:
        data_dir = Path(folder)
        port = _free_port()
        fleet = Fleet(_child_env(space, data_dir, port), data_dir)
        signer = Settings(data_dir=data_dir, subject_root=space.naming.root)
        nc = await signed_connect(signer, space.nats_url, "tousu-bench-idle", sender="bench")
        try:
            await ensure_streams(nc.jetstream(), space.naming)
            fleet.spawn("relay")
            for service in SERVICES:
                fleet.spawn(service)
            await fleet.wait_until_answering(nc, space.naming, list(NATS_SERVICES))
            await fleet.wait_until_ready(f"http://127.0.0.1:{port}")
            # Nothing of ours talks to the stack while it is measured.
            await nc.close()
            await asyncio.sleep(settle)
            result = await measure_idle(fleet, space.database_url, window)
            result["settle_s"] = settle
            result["errors_logged"] = logged_errors(data_dir)
        finally:
            if not nc.is_closed:
                await nc.close()
            fleet.stop()
        return result
