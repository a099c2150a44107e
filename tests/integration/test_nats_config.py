"""`tousu nats-config` on a real nats-server started with its output: every
forbidden publish and subscribe is refused by the server, and every service,
the relay and the gateway still do their whole job as their own users."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NatsClient

from tests.e2e.kit import HANDLER, OPERATOR, Commands, received, routed_by_rules
from tests.helpers import eventually, tousu
from tests.lifecycle import staff_accounts
from tests.processes import NATS_SERVICES, spawn, stop_all, wait_until_answering
from tousu.embedded.nats_server import EmbeddedNats
from tousu.embedded.ports import free_port
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore


@dataclass
class Session:
    """A connection as one user, and the errors the server sent it."""

    client: NatsClient
    errors: list[str] = field(default_factory=list)

    async def refused(self, verb: str, subject: str) -> None:
        """The server has answered ``Permissions Violation for <verb> to <subject>``."""
        # nats-py lower-cases the server's -ERR text.
        wanted = f'permissions violation for {verb} to "{subject}"'.lower()

        async def told() -> bool:
            await self.client.flush()
            return any(wanted in e.lower() for e in self.errors)

        await eventually(told, wanted, timeout=5)


@dataclass
class Confined:
    """A nats-server with tousu's users; each user's TOUSU_NATS_URL."""

    urls: dict[str, str]
    sessions: list[Session] = field(default_factory=list)

    async def session(self, user: str) -> Session:
        errors: list[str] = []

        async def on_error(error: Exception) -> None:
            errors.append(str(error))

        client = await nats.connect(self.urls[user], error_cb=on_error, allow_reconnect=False)
        opened = Session(client, errors)
        self.sessions.append(opened)
        return opened


@pytest.fixture
async def confined(
    tmp_path: Path, child_env: dict[str, str], settings: Settings
) -> AsyncIterator[Confined]:
    port, monitor = free_port(), free_port()
    out = tmp_path / "nats-config"
    code, stdout, stderr = await tousu(
        child_env,
        "nats-config",
        "--out", str(out),
        "--departments", "water,transport",
        "--server", f"127.0.0.1:{port}",
        "--root", settings.subject_root,
    )  # fmt: skip
    assert code == 0, stderr
    assert "dept-water" in stdout
    urls = {
        path.stem: path.read_text().strip().removeprefix("TOUSU_NATS_URL=")
        for path in (out / "credentials").glob("*.env")
    }
    assert all((out / "credentials" / f"{u}.env").stat().st_mode & 0o077 == 0 for u in urls)
    server = EmbeddedNats(tmp_path / "nats", port, monitor, config=out / "nats-auth.conf")
    await asyncio.to_thread(server.start)
    confined = Confined(urls)
    try:
        yield confined
    finally:
        for s in confined.sessions:
            await s.client.close()
        await asyncio.to_thread(server.stop)


async def test_forbidden_publishes_and_subscriptions_are_refused(
    confined: Confined, settings: Settings
) -> None:
    root = settings.subject_root
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await nats.connect(
            confined.urls["intake"].replace("intake:", "intake:wrong", 1),
            allow_reconnect=False,
        )

    intake = await confined.session("intake")
    await intake.client.publish(f"{root}.cmd.handling.resolve", b"{}")
    await intake.refused("Publish", f"{root}.cmd.handling.resolve")
    await intake.client.publish(f"{root}.events.water.ComplaintClosed", b"{}")
    await intake.refused("Publish", f"{root}.events.water.ComplaintClosed")
    await intake.client.publish(f"$JS.API.STREAM.DELETE.{settings.naming.events_stream}", b"")
    await intake.refused("Publish", f"$JS.API.STREAM.DELETE.{settings.naming.events_stream}")
    await intake.client.subscribe(f"{root}.cmd.handling.>")
    await intake.refused("Subscription", f"{root}.cmd.handling.>")

    gateway = await confined.session("gateway")
    await gateway.client.publish(f"{root}.events.water.ComplaintRouted", b"{}")
    await gateway.refused("Publish", f"{root}.events.water.ComplaintRouted")
    relay = await confined.session("relay")
    await relay.client.publish(f"{root}.cmd.intake.accept", b"{}")
    await relay.refused("Publish", f"{root}.cmd.intake.accept")

    # A department reads its own events, live, and no other department's.
    water = await confined.session("dept-water")
    await water.client.subscribe(f"{root}.events.transport.>")
    await water.refused("Subscription", f"{root}.events.transport.>")
    await water.client.subscribe(f"{root}.events.>")
    await water.refused("Subscription", f"{root}.events.>")
    mine = await water.client.subscribe(f"{root}.events.water.>")
    await water.client.flush()
    await relay.client.publish(f"{root}.events.transport.ComplaintRouted", b"transport")
    await relay.client.publish(f"{root}.events.water.ComplaintRouted", b"water")
    await relay.client.flush()
    message = await mine.next_msg(timeout=5)
    assert (message.subject, message.data) == (f"{root}.events.water.ComplaintRouted", b"water")
    await water.client.publish(f"{root}.events.water.ComplaintClosed", b"{}")
    await water.refused("Publish", f"{root}.events.water.ComplaintClosed")
    # Nothing was refused that the test did not ask for.
    assert not [e for e in relay.errors if "permissions" in e.lower() and "cmd.intake" not in e]


async def test_every_process_does_its_job_as_its_own_user(
    confined: Confined,
    settings: Settings,
    child_env: dict[str, str],
    store: PostgresEventStore,
    tmp_path: Path,
    database_url: str,
) -> None:
    await staff_accounts(database_url, [("h-zhao", "handler", "water")])  # HANDLER's
    procs = []
    try:
        for name in ("relay", *NATS_SERVICES):
            env = child_env | {"TOUSU_NATS_URL": confined.urls[name]}
            procs.append(spawn(name, env, tmp_path))
        gateway = await confined.session("gateway")
        water = await confined.session("dept-water")
        seen = await water.client.subscribe(f"{settings.subject_root}.events.water.>")
        deadline = time.monotonic() + 60
        for name in NATS_SERVICES:
            await wait_until_answering(gateway.client, settings.naming, name, deadline)

        complaint_id = await received(store)
        cmd = Commands(gateway.client, settings, complaint_id)
        assert await cmd.ok("intake", "accept", OPERATOR, category="service_quality") == (
            "accepted"
        )
        routed = await routed_by_rules(store, str(complaint_id))
        assert routed["department"] == "water"
        assert await cmd.ok("routing", "claim", HANDLER) == "claimed"
        await cmd.ok("handling", "investigation", HANDLER, findings="管网抢修未公告")
        plan = [{"measure": "恢复供水并公告", "owner": HANDLER["id"]}]
        await cmd.ok("handling", "plan", HANDLER, measures=plan)
        await cmd.ok("handling", "consultation", HANDLER, agrees=True)
        await cmd.ok("handling", "resolve", HANDLER, result="已恢复供水", basis="条例")
        assert await cmd.ok("handling", "feedback", HANDLER) == "fed_back"
        assert await cmd.ok("followup", "follow-up", OPERATOR, satisfaction="satisfied") == (
            "closed"
        )
        # The department's system saw its case's events as the relay published them.
        types: list[str] = []

        async def closed_seen() -> bool:
            try:
                message = await seen.next_msg(timeout=0.5)
            except nats.errors.TimeoutError:
                return False
            types.append(message.subject.rsplit(".", 1)[1])
            return types[-1] == "ComplaintClosed"

        await eventually(closed_seen, "the closing event at the department", timeout=30)
        assert "CaseClaimed" in types
        for s in (gateway, water):
            assert not [e for e in s.errors if "permissions" in e.lower()], s.errors
    finally:
        stop_all(procs)
    logs = await asyncio.to_thread(_logs, tmp_path)
    assert "permissions violation" not in logs.lower()


def _logs(folder: Path) -> str:
    return "".join(p.read_text() for p in folder.glob("*.log"))
