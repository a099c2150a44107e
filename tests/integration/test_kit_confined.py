"""The kit's clients as the confined NATS users `tousu nats-config` makes
(on a real nats-server started with its output): a department's system
creates and follows its durable consumer through the kit and gets its own
department's events only; a channel's adapter publishes its submissions.
Whatever the kit asks of JetStream, the users' permissions allow."""

from __future__ import annotations

import asyncio
import json
import uuid

from tests.integration.test_nats_config import Confined, confined  # noqa: F401  (the fixture)
from tousu.cli.nats_permissions import own_inbox
from tousu.kit import ChannelClient, DepartmentClient, Event
from tousu.shared.nats_setup import ensure_streams
from tousu.shared.settings import Settings


def envelope(department: str, version: int) -> bytes:
    return json.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "type": "ComplaintRouted",
            "stream_id": f"complaint-{uuid.uuid4()}",
            "version": version,
            "department": department,
            "data": {"department": department},
        }
    ).encode()


async def test_the_kit_works_as_the_confined_users(
    confined: Confined,  # noqa: F811
    settings: Settings,
) -> None:
    naming, root = settings.naming, settings.subject_root
    admin = await confined.session("admin")
    await ensure_streams(admin.client.jetstream(), naming)
    relay = await confined.session("relay")
    for n, department in enumerate(("transport", "water", "transport", "water"), start=1):
        await relay.client.publish(
            f"{root}.events.{department}.ComplaintRouted", envelope(department, n)
        )
    await relay.client.flush()

    options = {"inbox_prefix": own_inbox("dept-water"), "allow_reconnect": False}
    water = DepartmentClient(
        confined.urls["dept-water"], "credential", "water", root, nats_options=options
    )
    got: list[Event] = []
    done = asyncio.Event()

    async def keep(event: Event) -> None:
        got.append(event)
        if len(got) == 2:
            done.set()

    async with water:
        await asyncio.wait_for(water.follow(keep, stop=done), timeout=30)
        assert await water.backlog() == 0  # both acknowledged
    assert [(e.department, e.version) for e in got] == [("water", 2), ("water", 4)]

    options = {"inbox_prefix": own_inbox("channel-wechat"), "allow_reconnect": False}
    async with ChannelClient(
        confined.urls["channel-wechat"], "credential", root, nats_options=options
    ) as wechat:
        published = await wechat.publish(
            {
                "channel": "wechat",
                "complainant": {"phone": "13912345678"},
                "subject": "水泵漏水",
                "description": "小区水泵漏水三天。",
            },
            reference="wx-0001",
        )
    assert published.stream == naming.intake_stream
