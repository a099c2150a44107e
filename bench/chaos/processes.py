"""tousu's processes in a chaos run: each service and two relays, each its
own process that can be killed with SIGKILL and started again by name."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
from nats.aio.client import Client as NatsClient
from nats.errors import Error as NatsError

from tousu.shared.naming import Naming

STARTUP_TIMEOUT = 90.0
RELAYS = ("relay-a", "relay-b")
# What the relay calls its advisory-lock session (services/relay/leader.py).
_RELAY_SESSION = "tousu-relay pid="


class Processes:
    def __init__(self, env: dict[str, str], logs: Path, services: tuple[str, ...]) -> None:
        self.env = env
        self.logs = logs
        self.services = services
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        # Exits that were not our kills: name → how many (each restarted).
        self.crashes: dict[str, int] = {}
        self._killed: set[str] = set()

    def start_all(self) -> None:
        for name in (*RELAYS, *self.services):
            self.start(name)

    def start(self, name: str) -> None:
        service = name.split("-", 1)[0]
        self._killed.discard(name)
        # A file, not a pipe: a chatty child must never block on a full pipe.
        with (self.logs / f"{name}.log").open("ab") as log:
            self.running[name] = subprocess.Popen(
                [sys.executable, "-m", "tousu", "service", service],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self, name: str) -> None:
        proc = self.running[name]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        # Not a crash: the caller restarts it after its pause.
        self._killed.add(name)

    async def supervise(self, pause: float = 1.0) -> None:
        """Restart a process that ended on its own, as `tousu up`'s supervisor
        does (a service that cannot reach its servers at start-up exits)."""
        while True:
            await asyncio.sleep(pause)
            for name, proc in list(self.running.items()):
                if name not in self._killed and proc.poll() is not None:
                    self.crashes[name] = self.crashes.get(name, 0) + 1
                    self.start(name)

    async def wait_relay_session(self, pool: asyncpg.Pool, name: str) -> None:
        """Until the relay ``name`` has its election session (it leads or stands by)."""
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:  # polled: a database session announces nothing
            found = await pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
                f"{_RELAY_SESSION}{self.running[name].pid}",
            )
            if found or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.1)

    async def wait_answering(self, nc: NatsClient, naming: Naming, name: str) -> None:
        """Until the service ``name`` answers a ping (the relays and gateway: no-op)."""
        service = name.split("-", 1)[0]
        if service in ("relay", "gateway"):
            return
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                await nc.request(naming.command(service, "ping"), b"{}", timeout=1.0)
                return
            except (NatsError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    async def relay_leader(self, pool: asyncpg.Pool) -> str | None:
        """The name of the relay holding the leader lock, if one does."""
        rows = await pool.fetch(
            "SELECT a.application_name FROM pg_stat_activity a "
            "JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted "
            "WHERE a.datname = current_database() AND a.application_name LIKE $1",
            _RELAY_SESSION + "%",
        )
        pids = {int(r["application_name"].removeprefix(_RELAY_SESSION)) for r in rows}
        return next((n for n in RELAYS if self.running[n].pid in pids), None)

    def stop(self, timeout: float = 15.0) -> None:
        for proc in self.running.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.running.values():
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
