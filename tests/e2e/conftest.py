"""The services as separate processes, on this test's database and subject root."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.aio.client import Client as NatsClient

from services import SERVICES
from shared.settings import Settings
from tests.processes import spawn, stop, wait_until_answering

NATS_SERVICES = tuple(name for name in SERVICES if name != "gateway")


@pytest.fixture
async def running_services(
    settings: Settings, child_env: dict[str, str], nats_client: NatsClient, tmp_path: Path
) -> AsyncIterator[Path]:
    """relay + every NATS service; yields the folder with their logs."""
    procs = [spawn(name, child_env, tmp_path) for name in ("relay", *NATS_SERVICES)]
    try:
        deadline = time.monotonic() + 60
        for name in NATS_SERVICES:
            await wait_until_answering(nats_client, settings.naming, name, deadline)
        yield tmp_path
    finally:
        for proc in procs:
            stop(proc)
