"""Shared fixtures: real PostgreSQL and NATS, a database and subject root per test."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from tests.infra import Servers, configured_servers, new_database, unique_suffix, with_database
from tests.processes import NATS_SERVICES, spawn, stop_all, wait_until_answering
from tousu.database import prepare_database as migrate
from tousu.shared.application.credentials import signed_connect
from tousu.shared.nats_setup import delete_streams, ensure_streams
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

# Rate limits off for the suite (its gateways, in process or spawned, see this);
# tests/integration/test_throttle.py turns them on with limits of its own.
os.environ.setdefault("TOUSU_RATE_LIMITS", "false")

TEMPLATE_PREFIX = "tousu_tmpl_"
# The largest pool a test's store or service opens (TOUSU_DATABASE_POOL_SIZE).
TEST_POOL_SIZE = 2


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    if os.environ.get("TOUSU_TEST_SERVERS") == "containers":
        from tests.containers import container_servers

        with container_servers() as in_docker:
            yield in_docker
        return
    found = configured_servers()
    if found is not None:
        yield found
        return
    # A fresh machine: bring up the embedded servers for this session.
    from tousu.embedded.harness import embedded_servers

    with tempfile.TemporaryDirectory(prefix="tousu-test-") as data_dir:
        with embedded_servers(Path(data_dir)) as (pg_url, nats_url):
            yield Servers(pg_url, nats_url, "embedded")


def pytest_report_header(config: pytest.Config) -> str:
    if os.environ.get("TOUSU_TEST_SERVERS") == "containers":
        return "tousu test servers: testcontainers (Docker)"
    found = configured_servers()
    where = f"{found.origin}: {found.admin_database_url} {found.nats_url}" if found else "embedded"
    return f"tousu test servers: {where}"


@pytest.fixture(scope="session")
async def template_database(servers: Servers) -> AsyncIterator[str]:
    """A migrated database each test's database is copied from (fast CREATE)."""
    name = TEMPLATE_PREFIX + unique_suffix()
    admin = await asyncpg.connect(servers.admin_database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        await migrate(with_database(servers.admin_database_url, name))
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def database_url(servers: Servers, template_database: str) -> AsyncIterator[str]:
    async with new_database(servers, template=template_database) as url:
        yield url


@pytest.fixture
def subject_root() -> str:
    return "t" + unique_suffix()


@pytest.fixture
def settings(
    database_url: str,
    servers: Servers,
    subject_root: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    # The test's own process keeps its keys (the privacy key-encryption key)
    # in the data folder its child processes use, as one deployment would.
    monkeypatch.setenv("TOUSU_DATA_DIR", str(tmp_path / "var"))
    return Settings(
        database_url=database_url,
        nats_url=servers.nats_url,
        subject_root=subject_root,
        data_dir=tmp_path / "var",
        consumer_backoff_base=0.05,
        consumer_backoff_max=0.2,
        store_idle_recheck=0.5,
        database_pool_size=TEST_POOL_SIZE,
    )


@pytest.fixture
def child_env(settings: Settings) -> dict[str, str]:
    """Environment for a child process (a service or relay) of this test."""
    env = dict(os.environ)
    env.update(
        TOUSU_DATABASE_URL=str(settings.database_url),
        TOUSU_NATS_URL=str(settings.nats_url),
        TOUSU_SUBJECT_ROOT=settings.subject_root,
        TOUSU_DATA_DIR=str(settings.data_dir),
        TOUSU_LOG_FORMAT="json",
        # Few connections a service: a test runs seven processes, and two
        # workers share the server with whatever else uses it (docs/testing.md).
        TOUSU_DATABASE_POOL_SIZE=str(TEST_POOL_SIZE),
    )
    return env


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A small pool on the test's database, for reading and preparing rows."""
    p = await asyncpg.create_pool(database_url, min_size=1, max_size=3)
    try:
        yield p
    finally:
        await p.close()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[PostgresEventStore]:
    pg = await PostgresEventStore.connect(database_url, min_size=1, max_size=TEST_POOL_SIZE)
    try:
        yield pg
    finally:
        await pg.close()


@pytest.fixture
async def nats_client(settings: Settings) -> AsyncIterator[NatsClient]:
    # A trusted sender, like the gateway: its commands name their actors.
    client = await signed_connect(
        settings, str(settings.nats_url), "tousu-test", sender="tests", max_reconnect_attempts=-1
    )
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            await delete_streams(client.jetstream(), settings.naming)
        await client.close()


@pytest.fixture
async def js(nats_client: NatsClient, settings: Settings) -> JetStreamContext:
    context = nats_client.jetstream()
    await ensure_streams(context, settings.naming)
    return context


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
        stop_all(procs)
