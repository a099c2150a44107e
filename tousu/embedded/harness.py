"""Both embedded servers on spare ports for a while (test sessions, benchmarks)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tousu.embedded.nats_server import EmbeddedNats
from tousu.embedded.ports import free_port
from tousu.embedded.postgres import EmbeddedPostgres


def _spare_ports(count: int) -> list[int]:
    chosen: set[int] = set()
    while len(chosen) < count:
        chosen.add(free_port())
    return sorted(chosen)


@contextmanager
def embedded_servers(data_dir: Path) -> Iterator[tuple[str, str]]:
    """Start PostgreSQL and nats-server under ``data_dir``; yield (database URL, NATS URL)."""
    nats_port, monitor_port, pg_port = _spare_ports(3)
    nats = EmbeddedNats(data_dir, nats_port, monitor_port)
    pg = EmbeddedPostgres(data_dir, pg_port)
    nats.start()
    try:
        pg.start()
        try:
            yield pg.url, nats.url
        finally:
            pg.stop()
    finally:
        nats.stop()
