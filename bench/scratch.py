"""A throw-away database and subject root for one benchmark run."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from tousu.database import prepare_database as migrate
from tousu.shared.naming import Naming
from tousu.shared.nats_setup import connect, delete_streams


@dataclass(frozen=True)
class Scratch:
    database_url: str
    nats_url: str
    naming: Naming


@asynccontextmanager
async def scratch(server_database_url: str, nats_url: str) -> AsyncIterator[Scratch]:
    """A fresh migrated database and subject root beside the configured ones; removed after."""
    suffix = uuid.uuid4().hex[:10]
    name = f"tousu_bench_{suffix}"
    parts = urlsplit(server_database_url)
    url = urlunsplit(parts._replace(path=f"/{name}"))
    naming = Naming(f"bench{suffix}")
    admin = await asyncpg.connect(server_database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        await migrate(url)
        yield Scratch(url, nats_url, naming)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
        client = await connect(nats_url, name="tousu-bench-cleanup")
        try:
            await delete_streams(client.jetstream(), naming)
        finally:
            await client.close()
