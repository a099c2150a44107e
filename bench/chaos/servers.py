"""The chaos run's own PostgreSQL and nats-server: embedded, on spare ports,
under a scratch folder, so that killing them never touches a shared server."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tousu.embedded import EmbeddedError, pid_alive
from tousu.embedded.nats_server import EmbeddedNats
from tousu.embedded.ports import free_port
from tousu.embedded.postgres import EmbeddedPostgres

RESTART_TIMEOUT = 60.0


class Servers:
    def __init__(self, data_dir: Path) -> None:
        ports: set[int] = set()
        while len(ports) < 3:
            ports.add(free_port())
        nats_port, monitor_port, pg_port = sorted(ports)
        self.nats = EmbeddedNats(data_dir, nats_port, monitor_port)
        self.pg = EmbeddedPostgres(data_dir, pg_port)

    @property
    def database_url(self) -> str:
        return self.pg.url

    @property
    def nats_url(self) -> str:
        return self.nats.url

    def start(self) -> None:
        self.nats.start()
        self.pg.start()

    def stop(self) -> None:
        try:
            self.pg.stop()
        finally:
            self.nats.stop()

    def kill_nats(self) -> None:
        pid = self.nats.pid
        if pid is None:
            raise EmbeddedError("nats-server is not running")
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)

    def restart_nats(self) -> None:
        self.nats.stop()  # reaps the killed process
        self.nats.start(RESTART_TIMEOUT)

    def kill_postgres(self) -> None:
        pid = self.pg.pid
        if pid is None:
            raise EmbeddedError("PostgreSQL is not running")
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)

    def restart_postgres(self) -> None:
        # Backends outlive a killed postmaster for a moment and hold its shared
        # memory; until they have noticed and exited, a new postmaster refuses
        # to start.
        deadline = time.monotonic() + RESTART_TIMEOUT
        while True:
            try:
                self.pg.start()
                return
            except EmbeddedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
