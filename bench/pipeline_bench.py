"""The whole pipeline: submissions in, complaints received → accepted → routed out.

The relay and every service run as processes of their own, with automatic
acceptance and rule routing on, in a scratch database and subject root.
Submissions go to the intake channel subject on JetStream (``nats``) or to
the gateway's public web form (``http``), either at a fixed rate or flat out;
at most ``in_flight`` complaints are ever submitted and not yet routed, so an
overloaded phase sheds load (counted) instead of piling up a backlog for the
next one. Each phase warms up, then measures a window: complaints and events
per second, latency from submission to the relayed ComplaintAccepted and
ComplaintRouted, and the CPU seconds of each process.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from nats.aio.client import Client as NatsClient

from bench.fleet import (
    Fleet,
    backend_cpu_delta,
    backend_cpu_seconds,
    cpu_delta,
    logged_errors,
    wait_for_profilers,
)
from bench.observer import Observer
from bench.scratch import Scratch
from tousu.services.intake.intake import SUBMISSION_NAMESPACE
from tousu.services.relay.message import MSG_ID
from tousu.shared.application.credentials import signed_connect
from tousu.shared.events import complaint_stream
from tousu.shared.nats_setup import ensure_streams
from tousu.shared.settings import Settings

SERVICES = ("intake", "routing", "handling", "followup", "metrics", "gateway")
NATS_SERVICES = tuple(s for s in SERVICES if s != "gateway")
REPO = Path(__file__).resolve().parents[1]
# The CPU of the scratch database's PostgreSQL backends, beside the processes'.
POSTGRES = "postgres"

# Subjects that the packaged routing rules send to different departments, and
# one that no rule matches (the fallback).
_TOPICS = (
    ("小区停水未通知", "小区连续两天停水，供水公司未提前公告。"),
    ("公交末班车提前发车", "末班车比时刻表早十分钟开走，乘客滞留。"),
    ("社保卡补办太慢", "补办社保卡一个月仍未拿到，窗口说系统问题。"),
    ("路灯不亮", "小区门口路灯坏了两周，晚上出行不安全。"),
    ("办事窗口态度差", "工作人员不耐烦，没有一次性告知所需材料。"),
)


@dataclass(frozen=True)
class Phase:
    name: str
    channel: str  # "nats" or "http"
    rate: float | None  # complaints/s; None: flat out
    warmup: float
    window: float
    drain: float  # seconds to wait for the window's complaints after it


@dataclass(frozen=True)
class PipelineConfig:
    rate: float
    warmup: float
    window: float
    drain: float
    in_flight: int
    channels: tuple[str, ...] = ("nats", "http")
    flat_out: bool = True
    # Seconds with no load after the phases, measured (0: none), after idle_settle.
    idle: float = 0.0
    idle_settle: float = 0.0
    # py-spy on every process during each window: <profile>/<profile_label>-<phase>-<process>.txt
    profile: Path | None = None
    profile_label: str = "pipeline"

    def phases(self) -> list[Phase]:
        out = []
        for channel in self.channels:
            if self.flat_out:
                out.append(Phase(f"{channel}_flat_out", channel, None, *self._times))
            out.append(Phase(f"{channel}_at_rate", channel, self.rate, *self._times))
        return out

    @property
    def _times(self) -> tuple[float, float, float]:
        return self.warmup, self.window, self.drain


QUICK = PipelineConfig(rate=2, warmup=1, window=2, drain=30, in_flight=10, flat_out=False)
FULL = PipelineConfig(rate=500, warmup=10, window=60, drain=60, in_flight=200)


def _submission(ref: str, n: int, channel: str) -> dict[str, Any]:
    subject, description = _TOPICS[n % len(_TOPICS)]
    return {
        "channel": channel,
        "external_ref": ref,
        # A phone number each: the duplicate check looks for the same contact.
        "complainant": {"phone": f"139{n:08d}"},
        "subject": subject,
        "description": description,
        "category": "service_quality",
    }


class Submitter:
    """Sends one submission; records it with the observer once its complaint is known."""

    def __init__(self, observer: Observer, nc: NatsClient, scratch: Scratch, http_url: str) -> None:
        self._observer = observer
        self._js = nc.jetstream()
        self._naming = scratch.naming
        self.database_url = scratch.database_url
        self._http = httpx.AsyncClient(
            base_url=http_url, timeout=30.0, limits=httpx.Limits(max_connections=64)
        )
        self._run = uuid.uuid4().hex[:8]
        self._count = 0
        self.errors = 0
        self.last_error: str | None = None

    async def close(self) -> None:
        await self._http.aclose()

    async def purge_intake(self) -> None:
        """Drop submissions not yet taken, so that they do not load the next phase."""
        await self._js.purge_stream(self._naming.intake_stream)

    def sender(self, channel: str) -> Callable[[], Awaitable[str | None]]:
        return self._over_nats if channel == "nats" else self._over_http

    async def _over_nats(self) -> str | None:
        self._count += 1
        ref = f"bench-{self._run}-{self._count}"
        key = f"phone:{ref}"
        stream_id = complaint_stream(uuid.uuid5(SUBMISSION_NAMESPACE, key))
        body = json.dumps(_submission(ref, self._count, "phone")).encode()
        self._observer.submitted(stream_id, time.monotonic())
        await self._js.publish(self._naming.intake("phone"), body, headers={MSG_ID: key})
        return stream_id

    async def _over_http(self) -> str | None:
        self._count += 1
        body = _submission("", self._count, "web")
        del body["channel"], body["external_ref"]  # the web form sets these itself
        started = time.monotonic()
        response = await self._http.post("/api/v1/public/complaints", json=body)
        if response.status_code != 201:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        stream_id = complaint_stream(uuid.UUID(response.json()["complaint_id"]))
        self._observer.submitted(stream_id, started)
        return stream_id


async def _run_phase(
    phase: Phase,
    observer: Observer,
    submitter: Submitter,
    fleet: Fleet,
    config: PipelineConfig | None = None,
) -> dict[str, Any]:
    # Each phase starts on a quiet system: what the one before left to do
    # (its notices, the projections' catch-up) is not this phase's cost.
    settled = await fleet.wait_quiet(timeout=phase.drain)
    send = submitter.sender(phase.channel)
    tasks: set[asyncio.Task[None]] = set()
    in_window: set[str] = set()
    shed = 0
    errors_before = submitter.errors
    started = time.monotonic()
    window_start = started + phase.warmup
    window_end = window_start + phase.window

    async def one() -> None:
        at = time.monotonic()
        try:
            stream_id = await send()
        except Exception as exc:  # counted and reported: a benchmark does not stop for one
            submitter.errors += 1
            submitter.last_error = repr(exc)[:300]
            observer.failed()
            return
        if stream_id is not None and window_start <= at < window_end:
            in_window.add(stream_id)

    def launch() -> None:
        task = asyncio.create_task(one())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    cpu_before: dict[str, float] = {}
    own_before = 0.0
    commits_before = 0
    backends_before: dict[int, float] = {}
    measuring = False
    profilers: list[Any] = []
    tick = started
    while (now := time.monotonic()) < window_end:
        if not measuring and now >= window_start:
            if config is not None and config.profile is not None:
                label = f"{config.profile_label}-{phase.name}"
                profilers = fleet.profile(config.profile, label, window_end - now)
            cpu_before, measuring = fleet.cpu_seconds(), True
            backends_before = await backend_cpu_seconds(submitter.database_url)
            own_before = time.process_time()
            commits_before = await _commits(submitter.database_url)
        if phase.rate is None:
            try:
                await asyncio.wait_for(observer.take_slot(), timeout=max(window_end - now, 0.01))
            except TimeoutError:
                break
            launch()
            continue
        if now < tick:
            await asyncio.sleep(tick - now)
            continue
        tick += 1 / phase.rate
        if observer.slot_free():
            await observer.take_slot()
            launch()
        elif now >= window_start:
            shed += 1
    cpu_after = fleet.cpu_seconds()
    # This process (load generator and observer) takes from the same 2 cores:
    # reported beside the system's CPU, not in its per-complaint figure.
    own_cpu = time.process_time() - own_before if measuring else 0.0
    backends_after = await backend_cpu_seconds(submitter.database_url)
    commits = await _commits(submitter.database_url) - commits_before if measuring else 0
    if tasks:
        await asyncio.wait(tasks, timeout=phase.drain)
    unfinished = await observer.wait_for(set(in_window), phase.drain)
    # Leave a quiet system for the next phase.
    leftover = await observer.wait_for(set(observer.submitted_at), phase.drain)
    if leftover:
        await submitter.purge_intake()
    await wait_for_profilers(profilers, phase.window + 30)

    elapsed = time.monotonic() - started

    def in_the_window(times: dict[str, float]) -> int:
        return sum(1 for t in times.values() if window_start <= t < window_end)

    accepted = _latencies(observer, in_window, observer.accepted_at)
    routed = _latencies(observer, in_window, observer.routed_at)
    cpu = cpu_delta(cpu_before, cpu_after)
    if backends_after:
        cpu[POSTGRES] = backend_cpu_delta(backends_before, backends_after)
    routed_in_window = in_the_window(observer.routed_at)
    return {
        "channel": phase.channel,
        "settled_before_s": settled,
        "offered": "flat out" if phase.rate is None else f"{phase.rate:g}/s",
        "in_flight_cap": observer.cap,
        "window_s": phase.window,
        "elapsed_s": round(elapsed, 1),
        "submitted": len(in_window),
        "shed": shed,
        "errors": submitter.errors - errors_before,
        "unfinished": len(unfinished),
        "complaints_per_s": round(routed_in_window / phase.window, 1),
        "accepted_per_s": round(in_the_window(observer.accepted_at) / phase.window, 1),
        "events_per_s": round(observer.events_between(window_start, window_end) / phase.window, 1),
        "latency_ms": {"accepted": accepted, "routed": routed},
        "cpu_s": cpu,
        "load_generator_cpu_s": round(own_cpu, 3),
        # PostgreSQL's statistics lag their backends by up to a second or so:
        # a window's count is near, not exact.
        "transactions_per_complaint": round(commits / routed_in_window, 1)
        if routed_in_window
        else None,
        "cpu_ms_per_complaint": round(1000 * sum(cpu.values()) / routed_in_window, 1)
        if routed_in_window
        else None,
    }


def _latencies(observer: Observer, ids: set[str], reached: dict[str, float]) -> dict[str, Any]:
    samples = sorted(1000 * (reached[s] - observer.submitted_at[s]) for s in ids if s in reached)
    if not samples:
        return {"n": 0}

    def rank(q: float) -> float:
        # Nearest rank: an observed value, never an interpolation.
        return round(samples[min(len(samples) - 1, max(0, round(q * len(samples)) - 1))], 1)

    return {
        "n": len(samples),
        "p50": rank(0.50),
        "p95": rank(0.95),
        "p99": rank(0.99),
        "max": round(samples[-1], 1),
    }


# A PostgreSQL (15+) backend gone idle reports its transactions to pg_stat_database
# within this long: waited out before an idle window, so that the window does not
# count the load's last transactions.
PG_STATS_IDLE_FLUSH_S = 10.0


async def idle_figures(
    seconds: float, cpu_seconds: Callable[[], float], database_url: str, settle: float = 0.0
) -> dict[str, Any]:
    """``seconds`` with no load, after ``settle``: CPU ms a second of the processes
    (``cpu_seconds`` totals them) and of the database's PostgreSQL backends, and
    its transactions a second (the two reads of the count add one or two of their own)."""
    await asyncio.sleep(settle)  # a fixed interval of the server's, nothing to wait on
    backends_before = await backend_cpu_seconds(database_url)
    commits_before = await _commits(database_url)
    cpu_before, started = cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)  # the measured window itself, not a wait for anything
    cpu_after, elapsed = cpu_seconds(), time.monotonic() - started
    commits = await _commits(database_url) - commits_before
    backends = backend_cpu_delta(backends_before, await backend_cpu_seconds(database_url))
    return {
        "settle_s": settle,
        "window_s": round(elapsed, 1),
        "cpu_ms_per_s": round(1000 * (cpu_after - cpu_before) / elapsed, 1),
        "postgres_cpu_ms_per_s": round(1000 * backends / elapsed, 1),
        "transactions_per_s": round(commits / elapsed, 1),
    }


async def _commits(database_url: str) -> int:
    """Transactions committed in the run's database so far (all its clients)."""
    conn = await asyncpg.connect(database_url)
    try:
        value = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
    finally:
        await conn.close()
    return int(value or 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _child_env(scratch: Scratch, data_dir: Path, http_port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        TOUSU_DATABASE_URL=scratch.database_url,
        TOUSU_NATS_URL=scratch.nats_url,
        TOUSU_SUBJECT_ROOT=scratch.naming.root,
        TOUSU_DATA_DIR=str(data_dir),
        TOUSU_LOG_FORMAT="json",
        TOUSU_AUTO_ACCEPT="1",
        TOUSU_AUTO_ROUTE="1",
        # One load generator stands in for many citizens: per-IP limits off.
        TOUSU_RATE_LIMITS="false",
        TOUSU_HTTP_HOST="127.0.0.1",
        TOUSU_HTTP_PORT=str(http_port),
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    return env


async def run_pipeline_bench(scratch: Scratch, config: PipelineConfig) -> dict[str, Any]:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per submission
    with tempfile.TemporaryDirectory(prefix="tousu-pipeline-") as folder:
        data_dir = Path(folder)
        port = _free_port()
        fleet = Fleet(_child_env(scratch, data_dir, port), data_dir)
        # Signed as the services (sharing its data folder's key) expect.
        signer = Settings(data_dir=data_dir, subject_root=scratch.naming.root)
        nc = await signed_connect(signer, scratch.nats_url, "tousu-bench-pipeline", sender="bench")
        observer = Observer(config.in_flight)
        submitter = Submitter(observer, nc, scratch, f"http://127.0.0.1:{port}")
        try:
            await ensure_streams(nc.jetstream(), scratch.naming)
            await observer.start(nc, scratch.naming)
            started = time.monotonic()
            fleet.spawn("relay")
            for service in SERVICES:
                fleet.spawn(service)
            await fleet.wait_until_answering(nc, scratch.naming, list(NATS_SERVICES))
            await fleet.wait_until_ready(f"http://127.0.0.1:{port}")
            startup = time.monotonic() - started
            phases = {
                phase.name: await _run_phase(phase, observer, submitter, fleet, config)
                for phase in config.phases()
            }
            idle = None
            if config.idle:
                # Idle once the load's work is done, however long that takes.
                quiet = await fleet.wait_quiet(timeout=max(p.drain for p in config.phases()))
                idle = await idle_figures(
                    config.idle,
                    lambda: sum(fleet.cpu_seconds().values()),
                    scratch.database_url,
                    config.idle_settle,
                )
                idle["settled_before_s"] = quiet
            # Before the processes stop: what they log while shutting down is not the run's.
            errors = logged_errors(data_dir)
        finally:
            await submitter.close()
            await observer.stop()
            await nc.close()
            fleet.stop()
        return {
            "processes": sorted(fleet.processes),
            "auto_accept": True,
            "auto_route": True,
            "startup_s": round(startup, 1),
            "warmup_s": config.warmup,
            "phases": phases,
            **({"idle": idle} if idle is not None else {}),
            "last_error": submitter.last_error,
            "errors_logged": errors,
        }
