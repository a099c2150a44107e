"""An idle stack keeps quiet: the relay and every service, the gateway too,
run as processes with nothing to do for 30 s, on their default settings
(a consumer's pull fetch ends idle every 5 s, so each subscriber goes
through six idle fetches), and their logs hold no record at WARNING or
above and no terminal colour code.

Before, every service logged an ERROR with a traceback when nats-py ended an
idle pull fetch with the builtin TimeoutError, FastStream's own lines
("FastStream app starting...") came with ANSI colour codes into JSON logs,
and on a nats-server older than 2.10 each consumer warned that it filters
events itself — a supported configuration, now said once a process at INFO.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path

import httpx
from nats.aio.client import Client as NatsClient

from tests.helpers import eventually
from tests.processes import NATS_SERVICES, spawn, stop_all, wait_until_answering
from tousu.embedded.ports import free_port
from tousu.shared.settings import Settings

IDLE_SECONDS = 30
ANSI_ESCAPE = "\x1b["
QUIET_LEVELS = {"debug", "info"}
CLIENT_FILTERING = "nats-server < 2.10: filtering events in the client"


async def test_an_idle_stack_logs_nothing_at_warning_or_above(
    settings: Settings, child_env: dict[str, str], nats_client: NatsClient, tmp_path: Path
) -> None:
    port = free_port()
    env = child_env | {"TOUSU_HTTP_PORT": str(port), "TOUSU_HTTP_HOST": "127.0.0.1"}
    procs = [spawn(name, env, tmp_path) for name in ("relay", *NATS_SERVICES, "gateway")]
    try:
        # Starting is not what is observed: generous on a busy shared machine.
        deadline = time.monotonic() + 180
        for name in NATS_SERVICES:
            await wait_until_answering(nats_client, settings.naming, name, deadline)

        async def gateway_ready() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    ready = await client.get(f"http://127.0.0.1:{port}/readyz", timeout=1.0)
                    return ready.status_code == 200
            except httpx.TransportError:
                return False

        await eventually(gateway_ready, "the gateway to answer", timeout=120)
        # Not a synchronisation: the time being idle is what is observed.
        await asyncio.sleep(IDLE_SECONDS)
    finally:
        stop_all(procs)
    assert all(p.returncode == 0 for p in procs), [p.returncode for p in procs]

    loud, notices = _read_logs(tmp_path)
    assert not loud, "\n".join(loud)
    # The older server's notice, where it applies, once a process.
    assert all(n == 1 for n in notices.values()), notices


def _read_logs(folder: Path) -> tuple[list[str], Counter[str]]:
    """The lines of the processes' logs that are not quiet (no colour codes
    anywhere), and how often each log said it filters events itself at INFO."""
    loud: list[str] = []
    notices: Counter[str] = Counter()
    logs = sorted(folder.glob("*.log"))
    assert {log.stem for log in logs} == {"relay", *NATS_SERVICES, "gateway"}
    for log in logs:
        for line in log.read_text(encoding="utf-8").splitlines():
            assert ANSI_ESCAPE not in line, f"{log.name}: colour codes in {line!r}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                # A traceback or a line some library printed itself: not quiet.
                loud.append(f"{log.name}: {line}")
                continue
            if record.get("level") not in QUIET_LEVELS:
                loud.append(f"{log.name}: {line}")
            elif record.get("event") == CLIENT_FILTERING and record["level"] == "info":
                notices[log.stem] += 1
    return loud, notices
