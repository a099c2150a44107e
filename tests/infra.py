"""Where the tests' PostgreSQL and NATS come from, and how each test gets its own.

Order of preference: ``TOUSU_DATABASE_URL`` / ``TOUSU_NATS_URL`` when set; the
servers on their standard local ports when they answer (this machine, CI);
otherwise the embedded servers from PyPI, started for the session on spare
ports (a fresh machine). Every test gets a database and a subject root (hence
stream names) of its own, and both are removed afterwards.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_NATS = "nats://127.0.0.1:4222"


def answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), 0.5):
            return True
    except OSError:
        return False


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def unique_suffix() -> str:
    return uuid.uuid4().hex[:10]


@dataclass(frozen=True)
class Servers:
    admin_database_url: str  # a database to connect to for CREATE/DROP DATABASE
    nats_url: str
    origin: str  # "environment", "local" or "embedded"


def configured_servers() -> Servers | None:
    """The servers to test against, or None to start the embedded ones.

    ``TOUSU_TEST_SERVERS=embedded`` forces the embedded servers (to check the
    suite as a fresh machine runs it).
    """
    if os.environ.get("TOUSU_TEST_SERVERS") in ("embedded", "containers"):
        return None
    db = os.environ.get("TOUSU_DATABASE_URL")
    nats_url = os.environ.get("TOUSU_NATS_URL")
    if db and nats_url:
        return Servers(db, nats_url, "environment")
    if answers(LOCAL_PG) and answers(LOCAL_NATS):
        return Servers(LOCAL_PG, LOCAL_NATS, "local")
    return None


@asynccontextmanager
async def new_database(servers: Servers, template: str | None = None) -> AsyncIterator[str]:
    """A database of its own (a copy of ``template`` if given), dropped afterwards."""
    name = "tousu_test_" + unique_suffix()
    copy = f' TEMPLATE "{template}"' if template else ""
    admin = await asyncpg.connect(servers.admin_database_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"{copy}')
        yield with_database(servers.admin_database_url, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
