"""Run tousu processes for a test: spawn, wait until they answer, stop them all."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NatsClient
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from tousu.services import SERVICES
from tousu.shared.naming import Naming

# Every service but the HTTP gateway: what answers on NATS.
NATS_SERVICES = tuple(name for name in SERVICES if name != "gateway")


def spawn(name: str, env: dict[str, str], logs: Path) -> subprocess.Popen[bytes]:
    # A file, not a pipe: a chatty child must never block on a full pipe.
    with (logs / f"{name}.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tousu", "service", name],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop(proc: subprocess.Popen[bytes], timeout: float = 15) -> int:
    stop_all([proc], timeout)
    return proc.returncode


def stop_all(procs: Iterable[subprocess.Popen[bytes]], timeout: float = 15) -> None:
    """Stop every one of ``procs``: all signalled first, so they wind down
    together; one that is still running after ``timeout`` is killed."""
    running = [p for p in procs if p.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGTERM)
    late = []
    for proc in running:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            late.append(proc.args)
    if late:  # after the others were stopped too
        raise TimeoutError(f"killed after {timeout:.0f}s without stopping: {late}")


async def request(
    client: NatsClient,
    subject: str,
    body: dict[str, Any],
    timeout: float = 10.0,
    *,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The reply to ``body``. The tests' ``nats_client`` signs it as a trusted
    sender; ``headers``: another credential (``Tousu-Credential``) instead."""
    reply = await client.request(
        subject, json.dumps(body).encode(), timeout=timeout, headers=headers
    )
    return dict(json.loads(reply.data))


async def wait_until_answering(
    client: NatsClient, naming: Naming, service: str, deadline: float
) -> dict[str, Any]:
    """Ping ``service`` until it answers (it is still starting until then)."""
    while True:
        try:
            return await request(client, naming.command(service, "ping"), {}, timeout=1.0)
        except (NoRespondersError, NatsTimeout):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)
