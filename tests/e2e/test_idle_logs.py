"""An idle stack keeps quiet: the services run as processes with nothing to
do, through several fetch timeouts (shortened so the test is short), and
their logs hold no line at WARNING or above and no terminal colour code.

Before, every service logged an ERROR with a traceback when nats-py ended an
idle pull fetch with the builtin TimeoutError, and FastStream's own lines
("FastStream app starting...") came with ANSI colour codes into JSON logs.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from nats.aio.client import Client as NatsClient

from tests.processes import NATS_SERVICES, spawn, stop_all, wait_until_answering
from tousu.shared.settings import Settings

FETCH_TIMEOUT = 0.25
# Idle fetch cycles each subscriber goes through while the test looks.
CYCLES = 8
ANSI_ESCAPE = "\x1b["
QUIET_LEVELS = {"debug", "info"}
# Said once at start about the deployment, not about being idle: the test
# machine's nats-server may be 2.9 (consumers then filter events themselves).
ABOUT_THE_DEPLOYMENT = {"nats-server < 2.10: filtering events in the client"}


async def test_an_idle_stack_logs_nothing_at_warning_or_above(
    settings: Settings, child_env: dict[str, str], nats_client: NatsClient, tmp_path: Path
) -> None:
    env = child_env | {"TOUSU_CONSUMER_FETCH_TIMEOUT": str(FETCH_TIMEOUT)}
    procs = [spawn(name, env, tmp_path) for name in ("relay", *NATS_SERVICES)]
    try:
        deadline = time.monotonic() + 60
        for name in NATS_SERVICES:
            await wait_until_answering(nats_client, settings.naming, name, deadline)
        # Not a synchronisation: the time being idle is what is observed.
        await asyncio.sleep(CYCLES * FETCH_TIMEOUT)
    finally:
        stop_all(procs)
    assert all(p.returncode == 0 for p in procs), [p.returncode for p in procs]

    loud = _loud_lines(tmp_path)
    assert not loud, "\n".join(loud)


def _loud_lines(folder: Path) -> list[str]:
    """The lines of the services' logs that are not quiet (and no colour codes)."""
    loud: list[str] = []
    for log in sorted(folder.glob("*.log")):
        for line in log.read_text(encoding="utf-8").splitlines():
            assert ANSI_ESCAPE not in line, f"{log.name}: colour codes in {line!r}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                # A traceback or a line some library printed itself: not quiet.
                loud.append(f"{log.name}: {line}")
                continue
            if record.get("level") not in QUIET_LEVELS and (
                record.get("event") not in ABOUT_THE_DEPLOYMENT
            ):
                loud.append(f"{log.name}: {line}")
    return loud
