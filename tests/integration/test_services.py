"""Every service starts as its own process, answers, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from nats.aio.client import Client as NatsClient

from tests.processes import NATS_SERVICES, spawn, stop, wait_until_answering
from tousu.embedded.ports import free_port
from tousu.shared.settings import Settings


async def test_each_service_answers_ping_and_stops_cleanly(
    settings: Settings, child_env: dict[str, str], nats_client: NatsClient, tmp_path: Path
) -> None:
    procs = {name: spawn(name, child_env, tmp_path) for name in NATS_SERVICES}
    try:
        deadline = time.monotonic() + 60
        for name, proc in procs.items():
            reply = await wait_until_answering(nats_client, settings.naming, name, deadline)
            assert reply["ok"] is True
            result = reply["result"]
            assert isinstance(result, dict)
            assert (result["service"], result["pid"]) == (name, proc.pid)
        for name, proc in procs.items():
            log = (tmp_path / f"{name}.log").read_text()[-2000:]
            assert stop(proc) == 0, f"{name} exited badly: {log}"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


async def test_gateway_health_and_readiness(child_env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    proc = spawn("gateway", {**child_env, "TOUSU_HTTP_PORT": str(port)}, tmp_path)
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            while True:
                try:
                    ready = await client.get("/readyz")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        log = (tmp_path / "gateway.log").read_text()[-2000:]
                        pytest.fail(f"gateway did not come up: {log}")
                    await asyncio.sleep(0.1)  # not listening yet: poll again
            assert ready.status_code == 200
            assert ready.json() == {
                "ready": True,
                "status": "ok",
                "checks": {"database": "ok", "nats": "ok", "quarantine": "ok"},
            }
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            assert (await client.get("/openapi.json")).status_code == 200
        assert stop(proc) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
