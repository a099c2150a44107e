"""The gateway as its own process (`tousu service gateway`) stops on SIGTERM
as a deploy or `tousu up` stops it: a request in flight is answered, the
process exits 0, and its log has no error in it (an operator's alerting
would page someone for each restart)."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from pathlib import Path

import httpx
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg

from tests.helpers import eventually
from tests.processes import spawn, stop
from tousu.embedded.ports import free_port
from tousu.services.intake.intake import Submitted
from tousu.shared.application.replies import ok
from tousu.shared.events import utcnow
from tousu.shared.settings import Settings


async def test_sigterm_answers_the_request_in_flight_and_logs_no_error(
    child_env: dict[str, str], settings: Settings, nats_client: NatsClient, tmp_path: Path
) -> None:
    # Intake stands in here, so that it answers only once the gateway is
    # stopping: the submission is then surely in flight across the signal.
    asked: list[Msg] = []

    async def record(msg: Msg) -> None:
        asked.append(msg)

    sub = await nats_client.subscribe(settings.naming.command("intake", "submit"), cb=record)
    port = free_port()
    env = child_env | {"TOUSU_HTTP_PORT": str(port), "TOUSU_HTTP_HOST": "127.0.0.1"}
    proc = spawn("gateway", env, tmp_path)
    log = tmp_path / "gateway.log"
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:

            async def ready() -> bool:
                try:
                    return (await client.get("/readyz", timeout=1.0)).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, "the gateway to answer", timeout=60)
            in_flight = asyncio.create_task(
                client.post(
                    "/api/v1/public/complaints",
                    json={
                        "subject": "路灯不亮",
                        "description": "人民路路灯连续一周不亮",
                        "complainant": {"phone": "13900001111"},
                    },
                )
            )
            await eventually(lambda: bool(asked), "the submission on its way to intake")
            proc.send_signal(signal.SIGTERM)

            async def stopping() -> bool:
                return in_flight.done() or "Shutting down" in log.read_text(encoding="utf-8")

            await eventually(stopping, "the gateway to begin stopping")
            submitted = Submitted(
                uuid.uuid4(), "TS2611-00001-00001", "ABCD2345", "received", utcnow()
            )
            await asked[0].respond(json.dumps(ok(submitted.as_json())).encode())
            answer = await in_flight
        code = await asyncio.to_thread(proc.wait, 15)
    finally:
        await sub.unsubscribe()
        stop(proc)

    assert answer.status_code == 201, answer.text
    assert answer.json()["tracking_no"] == "TS2611-00001-00001"
    assert code == 0
    lines = log.read_text(encoding="utf-8").splitlines()
    errors = [
        line for line in lines if line.startswith("{") and json.loads(line)["level"] == "error"
    ]
    assert errors == []
