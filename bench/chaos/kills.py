"""The kills: each service, the relay leader, nats-server and PostgreSQL in
turn, SIGKILL then a restart after a moment, spread over the submissions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg
from nats.aio.client import Client as NatsClient

from bench.chaos.processes import Processes
from bench.chaos.servers import Servers
from tousu.shared.naming import Naming

NATS = "nats-server"
POSTGRES = "postgresql"
RELAY_LEADER = "relay leader"


def schedule(services: tuple[str, ...]) -> list[str]:
    """What is killed, in order, one after the other.

    nats-server early: consumers may wait out their ack wait for messages in
    flight when it died (see docs/security.md, fault injection), better while work goes on.
    """
    half = len(services) // 2
    return [*services[:half], NATS, *services[half:], RELAY_LEADER, POSTGRES]


@dataclass
class Kill:
    target: str
    process: str  # the process name, or the server
    at_progress: float  # share of the planned commands acknowledged when it was killed
    down_s: float  # from SIGKILL until it answers again
    at_s: float  # since the run started


@dataclass
class Killer:
    servers: Servers
    processes: Processes
    nc: NatsClient
    naming: Naming
    pool: asyncpg.Pool
    pause: float  # seconds between the SIGKILL and the restart
    done: list[Kill] = field(default_factory=list)
    # Set as the last kill begins: the driver holds its last complaints until
    # then, so a slow restart earlier on cannot let the load end first.
    last_begun: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, targets: list[str], progress: Callable[[], float], started: float) -> None:
        """Kill ``targets`` in turn, spread evenly over ``progress`` (0 to 1)."""
        for i, target in enumerate(targets):
            # Spread over the first 60 %: the last kill, too,
            # must find work in flight.
            threshold = 0.03 + 0.57 * i / max(len(targets) - 1, 1)
            while True:  # polled: the driver's count has no event to wait on
                if progress() >= threshold:
                    break
                await asyncio.sleep(0.05)
            if i == len(targets) - 1:
                self.last_begun.set()
            at, at_progress = time.monotonic(), progress()
            process = await self._kill_and_restart(target)
            self.done.append(
                Kill(
                    target,
                    process,
                    round(at_progress, 3),
                    round(time.monotonic() - at, 2),
                    round(at - started, 1),
                )
            )

    async def _kill_and_restart(self, target: str) -> str:
        if target == NATS:
            await asyncio.to_thread(self.servers.kill_nats)
            await asyncio.sleep(self.pause)
            await asyncio.to_thread(self.servers.restart_nats)
            return target
        if target == POSTGRES:
            await asyncio.to_thread(self.servers.kill_postgres)
            await asyncio.sleep(self.pause)
            await asyncio.to_thread(self.servers.restart_postgres)
            return target
        name = target
        if target == RELAY_LEADER:
            leader = await self.processes.relay_leader(self.pool)
            if leader is None:
                raise RuntimeError("no relay holds the leader lock")
            name = leader
        self.processes.kill(name)
        await asyncio.sleep(self.pause)
        self.processes.start(name)
        await self.processes.wait_answering(self.nc, self.naming, name)
        if target == RELAY_LEADER:
            await self.processes.wait_relay_session(self.pool, name)
        return name
