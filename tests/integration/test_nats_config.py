"""`tousu nats-config` on a real nats-server started with its output: every
forbidden publish and subscribe is refused by the server, every service, the
relay and the gateway still do their whole job as their own users, a
department's system follows its own events through its durable consumer and
nobody else's, and a channel's adapter submits for its own channel only."""

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
from tousu.cli.nats_permissions import own_inbox
from tousu.embedded.nats_server import EmbeddedNats
from tousu.embedded.ports import free_port
from tousu.shared.application.credentials import SigningClient, trusted_headers
from tousu.shared.nats_setup import ensure_streams
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

    async def session(
        self, user: str, *, inbox: str | None = None, signed: Settings | None = None
    ) -> Session:
        """Connected as ``user``; ``inbox``: its own inbox prefix (a confined
        user's replies come there); ``signed``: its messages to tousu carry
        the trusted credential made with these settings' key (as the gateway's)."""
        errors: list[str] = []

        async def on_error(error: Exception) -> None:
            errors.append(str(error))

        client = (
            SigningClient(signed.naming, trusted_headers(signed, user)) if signed else NatsClient()
        )
        options = {"inbox_prefix": inbox} if inbox else {}
        await client.connect(self.urls[user], error_cb=on_error, allow_reconnect=False, **options)
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


async def test_a_department_follows_its_own_events_through_its_durable_consumer(
    confined: Confined, settings: Settings
) -> None:
    naming, root = settings.naming, settings.subject_root
    stream = naming.events_stream
    admin = await confined.session("admin")
    await ensure_streams(admin.client.jetstream(), naming)
    relay = await confined.session("relay")
    for department in ("transport", "water", "transport", "water"):
        await relay.client.publish(
            f"{root}.events.{department}.ComplaintRouted", department.encode()
        )
    await relay.client.flush()

    water = await confined.session("dept-water", inbox=own_inbox("dept-water"))
    js = water.client.jetstream()
    follow = await js.pull_subscribe(f"{root}.events.water.>", durable="dept-water", stream=stream)
    got = await follow.fetch(2, timeout=5)
    for message in got:
        await message.ack_sync()
    assert [m.data for m in got] == [b"water", b"water"]
    # Acknowledged: the consumer resumes after them.
    assert (await js.consumer_info(stream, "dept-water")).num_ack_pending == 0

    # Not over another department's subjects, under its name or another's.
    over_transport = f"$JS.API.CONSUMER.CREATE.{stream}.dept-water.{root}.events.transport.>"
    await water.client.publish(over_transport, b"{}")
    await water.refused("Publish", over_transport)
    as_transport = f"$JS.API.CONSUMER.CREATE.{stream}.dept-transport.{root}.events.water.>"
    await water.client.publish(as_transport, b"{}")
    await water.refused("Publish", as_transport)
    legacy = f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.dept-water"
    await water.client.publish(legacy, b"{}")
    await water.refused("Publish", legacy)
    # Nor take messages from tousu's own consumers, nor read others' replies.
    theirs = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.routing"
    await water.client.publish(theirs, b"{}")
    await water.refused("Publish", theirs)
    await water.client.subscribe("_INBOX.>")
    await water.refused("Subscription", "_INBOX.>")
    # The department's commands, and no other.
    await water.client.publish(f"{root}.cmd.metrics.supervise", b"{}")
    await water.refused("Publish", f"{root}.cmd.metrics.supervise")
    await water.client.publish(f"{root}.cmd.routing.claim", b"{}")
    await water.client.flush()
    assert not [e for e in water.errors if "cmd.routing.claim" in e]


async def test_a_channel_adapter_submits_for_its_own_channel_only(
    confined: Confined, settings: Settings
) -> None:
    naming, root = settings.naming, settings.subject_root
    admin = await confined.session("admin")
    await ensure_streams(admin.client.jetstream(), naming)

    wechat = await confined.session("channel-wechat", inbox=own_inbox("channel-wechat"))
    ack = await wechat.client.jetstream().publish(naming.intake("wechat"), b"{}")
    assert ack.stream == naming.intake_stream

    await wechat.client.publish(naming.intake("web"), b"{}")
    await wechat.refused("Publish", naming.intake("web"))
    await wechat.client.publish(f"{root}.cmd.intake.accept", b"{}")
    await wechat.refused("Publish", f"{root}.cmd.intake.accept")
    await wechat.client.subscribe("_INBOX.>")
    await wechat.refused("Subscription", "_INBOX.>")
    await wechat.client.publish(f"{root}.cmd.intake.submit", b"{}")
    await wechat.client.flush()
    assert not [e for e in wechat.errors if "cmd.intake.submit" in e]


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
        gateway = await confined.session("gateway", signed=settings)
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
