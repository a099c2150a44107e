"""`tousu bench`: run the benchmarks under bench/, print their JSON (stdout) and a
short table of the pipeline's figures (stderr)."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from bench.attachment_cost import run_attachment_bench
from bench.fleet import find_py_spy
from bench.floor_bench import run_floor_bench
from bench.hotspots_bench import run_hotspots_bench
from bench.idle_bench import run_idle_bench
from bench.kpi_bench import run_kpi_bench
from bench.pipeline_bench import FULL, QUICK, PipelineConfig, run_pipeline_bench
from bench.pipeline_table import pipeline_table
from bench.projection_bench import run_projection_bench
from bench.relay_bench import run_relay_bench
from bench.scratch import Scratch, scratch
from bench.store_bench import run_store_bench
from bench.webhooks_bench import run_webhooks_bench
from tousu.cli import app
from tousu.cli._async import run
from tousu.connect import NotConfiguredError, database_url, nats_url
from tousu.embedded.harness import embedded_servers
from tousu.shared.settings import load_settings


class Part(StrEnum):
    ALL = "all"
    STORE = "store"
    RELAY = "relay"
    PROJECTIONS = "projections"
    KPIS = "kpis"
    PIPELINE = "pipeline"
    FLOOR = "floor"
    ATTACHMENTS = "attachments"
    WEBHOOKS = "webhooks"
    # Not part of `all`: tousu beside the plain event-sourcing peer, interleaved.
    PEER = "peer"
    # Not part of `all`: what the whole stack costs with nothing to do (30 s, 10 s quick).
    IDLE = "idle"
    # Not part of `all`: the recurring-problems analysis beside the KPI step, per 10,000 complaints.
    HOTSPOTS = "hotspots"


# Sizes (quick, full): events for the projection rebuilds, complaints for the KPIs.
PROJECTION_EVENTS = (5_000, 1_000_000)
KPI_COMPLAINTS = (500, 1_000_000)
# Complaints and interleaved rounds (quick, full) for the hotspot analysis's cost.
HOTSPOT_COMPLAINTS = (2_000, 20_000)
HOTSPOT_ROUNDS = (3, 5)


@app.command()
def bench(
    part: Annotated[Part, typer.Argument(help="Which benchmark to run.")] = Part.ALL,
    quick: Annotated[bool, typer.Option("--quick", help="Small sizes, under a minute.")] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Also write the JSON here.")
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(help="Pipeline: complaints/s of the fixed-rate phases.", min=0.1),
    ] = None,
    duration: Annotated[
        float | None,
        typer.Option(help="Pipeline: seconds measured per phase, after the warm-up.", min=1),
    ] = None,
    warmup: Annotated[
        float | None, typer.Option(help="Pipeline: seconds of load before measuring.", min=0)
    ] = None,
    in_flight: Annotated[
        int | None,
        typer.Option(help="Pipeline: most complaints submitted and not yet routed.", min=1),
    ] = None,
    channel: Annotated[
        list[str] | None,
        typer.Option(help="Pipeline: submit over nats, http (repeat for both; default both)."),
    ] = None,
    profile: Annotated[
        Path | None,
        typer.Option(
            help="Pipeline and peer: py-spy on every process during each measured window, "
            "one collapsed-stack file a process and window in this folder."
        ),
    ] = None,
) -> None:
    """Measure the event store, the relay, projection rebuilds, KPI queries, the
    plumbing's CPU floor (a message consumed, a transaction committed) and the
    whole pipeline (submission → accepted → routed, every service its own process),
    the cost of keeping a photo (attachments: no servers needed), and department
    webhooks' delivery latency at routine load beside the relay's (webhooks);
    print JSON. `hotspots` (not in `all`) prices the recurring-problems analysis
    (segmentation, its projection, its queries) per 10,000 complaints beside
    the KPI projection step and queries, interleaved. `peer` (not in `all`)
    runs the pipeline and the plain
    event-sourcing peer (bench/peer/) in interleaved rounds and prints both,
    their ratios, what each costs idle and the load average beside each, on a
    nats-server 2.10 or later (an embedded one when the one given is older).
    `--profile DIR` (pipeline, peer) records each process with py-spy during
    each measured window.

    Uses TOUSU_DATABASE_URL / TOUSU_NATS_URL, else a running `tousu up`, else
    starts embedded servers in a temporary folder. Every run works in a
    database and subject root of its own, removed afterwards.
    """
    config = QUICK if quick else FULL
    config = dataclasses.replace(
        config,
        rate=config.rate if rate is None else rate,
        window=config.window if duration is None else duration,
        warmup=config.warmup if warmup is None else warmup,
        in_flight=config.in_flight if in_flight is None else in_flight,
    )
    if channel:
        unknown = set(channel) - {"nats", "http"}
        if unknown:
            raise typer.BadParameter(f"unknown channel(s): {', '.join(sorted(unknown))}")
        config = dataclasses.replace(config, channels=tuple(channel))
    if profile is not None:
        if find_py_spy() is None:
            print("py-spy not found (pip install py-spy): not profiling", file=sys.stderr)
            profile = None
        else:
            profile.mkdir(parents=True, exist_ok=True)
            config = dataclasses.replace(config, profile=profile, profile_label="pipeline")
    if part is Part.PEER:
        result: dict[str, Any] = run(_peer(quick, profile))
    elif part is Part.ATTACHMENTS:  # no servers: the checks, sealing and the data folder
        result = {
            "machine": _machine(),
            "quick": quick,
            "attachments": _attachments(quick),
        }
    else:
        result = run(_bench(part, quick, config))
        if part is Part.ALL:
            result["attachments"] = _attachments(quick)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if "pipeline" in result:
        pipeline_table(result["pipeline"])
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")


async def _bench(part: Part, quick: bool, pipeline: PipelineConfig) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": _machine(), "quick": quick}
    async with _servers() as (db_url, nats):
        async with scratch(db_url, nats) as space:
            result["servers"] = await _versions(space)
            if part in (Part.ALL, Part.STORE):
                result["store"] = await run_store_bench(space.database_url, quick)
        if part in (Part.ALL, Part.RELAY):
            async with scratch(db_url, nats) as space:
                result["relay"] = await run_relay_bench(space, quick)
        if part in (Part.ALL, Part.PROJECTIONS):
            async with scratch(db_url, nats) as space:
                events = PROJECTION_EVENTS[0 if quick else 1]
                result["projections"] = await run_projection_bench(space, events=events)
        if part in (Part.ALL, Part.KPIS):
            async with scratch(db_url, nats) as space:
                complaints = KPI_COMPLAINTS[0 if quick else 1]
                result["kpis"] = await run_kpi_bench(space, complaints=complaints)
        if part in (Part.ALL, Part.FLOOR):
            async with scratch(db_url, nats) as space:
                result["floor"] = await run_floor_bench(space, quick)
        if part in (Part.ALL, Part.PIPELINE):
            async with scratch(db_url, nats) as space:
                result["pipeline"] = await run_pipeline_bench(space, pipeline)
        if part in (Part.ALL, Part.WEBHOOKS):
            # Routine load: 5 routed cases a second for 60 s (5 s quick).
            async with scratch(db_url, nats) as space:
                result["webhooks"] = await run_webhooks_bench(space, quick)
        if part is Part.IDLE:
            async with scratch(db_url, nats) as space:
                result["idle"] = await run_idle_bench(space, quick)
        if part is Part.HOTSPOTS:
            async with scratch(db_url, nats) as space:
                result["hotspots"] = await run_hotspots_bench(
                    space,
                    complaints=HOTSPOT_COMPLAINTS[0 if quick else 1],
                    rounds=HOTSPOT_ROUNDS[0 if quick else 1],
                )
    return result


async def _peer(quick: bool, profile: Path | None) -> dict[str, Any]:
    # Imported here: the peer needs the `bench` extra (eventsourcing), the rest does not.
    from bench.peer_bench import FULL as PEER_FULL
    from bench.peer_bench import QUICK as PEER_QUICK
    from bench.peer_bench import run_peer_bench

    result: dict[str, Any] = {"machine": _machine(), "quick": quick}
    async with _servers() as (db_url, nats):
        config = dataclasses.replace(PEER_QUICK if quick else PEER_FULL, profile=profile)
        result["peer"] = await run_peer_bench(db_url, nats, config)
    return result


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


# Photos (megapixels) of a phone's camera and of what WeChat sends; rounds (quick, full).
ATTACHMENT_PHOTOS = (12.0, 3.0)
ATTACHMENT_ROUNDS = (3, 20)


def _attachments(quick: bool) -> dict[str, Any]:
    rounds = ATTACHMENT_ROUNDS[0 if quick else 1]
    return {
        f"{mp:g}MP": run_attachment_bench(rounds=rounds, megapixels=mp) for mp in ATTACHMENT_PHOTOS
    }


@asynccontextmanager
async def _servers() -> AsyncIterator[tuple[str, str]]:
    settings = load_settings()
    try:
        urls = database_url(settings), nats_url(settings)
    except NotConfiguredError:
        with tempfile.TemporaryDirectory(prefix="tousu-bench-") as data_dir:
            with embedded_servers(Path(data_dir)) as embedded:
                yield embedded
        return
    yield urls


async def _versions(space: Scratch) -> dict[str, Any]:
    import asyncpg
    import nats

    conn = await asyncpg.connect(space.database_url)
    try:
        pg = await conn.fetchval("SHOW server_version")
        fsync = await conn.fetchval("SHOW fsync")
    finally:
        await conn.close()
    client = await nats.connect(space.nats_url)
    try:
        version = client.connected_server_version
    finally:
        await client.close()
    return {
        "postgresql": pg,
        "fsync": fsync,
        "nats": f"{version.major}.{version.minor}.{version.patch}",
    }
