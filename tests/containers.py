"""Opt-in: PostgreSQL and NATS in Docker via testcontainers (``TOUSU_TEST_SERVERS=containers``).

Needs a reachable Docker engine and the ``containers`` extra
(``pip install -e '.[dev,containers]'``); not used where no engine runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.infra import Servers


@contextmanager
def container_servers() -> Iterator[Servers]:
    from testcontainers.community.nats import NatsContainer
    from testcontainers.postgres import PostgresContainer

    with (
        PostgresContainer("postgres:16-alpine", driver=None) as pg,
        NatsContainer("nats:2.10-alpine", jetstream=True) as nats,
    ):
        yield Servers(pg.get_connection_url(), nats.nats_uri(), "containers")
