"""JetStream streams tousu needs, created or updated idempotently."""

from __future__ import annotations

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from tousu.shared.naming import Naming

# JetStream drops a re-published Nats-Msg-Id within this window; the relay
# also resumes from the stream's last message, so a longer outage is safe too.
DUPLICATE_WINDOW_S = 120.0


def stream_configs(naming: Naming, replicas: int = 1) -> list[StreamConfig]:
    common = {
        "storage": StorageType.FILE,
        "num_replicas": replicas,
        "duplicate_window": DUPLICATE_WINDOW_S,
    }
    return [
        StreamConfig(
            name=naming.events_stream,
            subjects=[naming.all_events],
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            **common,  # type: ignore[arg-type]
        ),
        StreamConfig(
            name=naming.intake_stream,
            subjects=[naming.all_intake],
            retention=RetentionPolicy.LIMITS,
            **common,  # type: ignore[arg-type]
        ),
        StreamConfig(
            name=naming.dlq_stream,
            subjects=naming.all_dlq,
            retention=RetentionPolicy.LIMITS,
            **common,  # type: ignore[arg-type]
        ),
    ]


async def ensure_streams(js: JetStreamContext, naming: Naming, replicas: int = 1) -> None:
    for config in stream_configs(naming, replicas):
        try:
            await js.stream_info(config.name)  # type: ignore[arg-type]
        except NotFoundError:
            await js.add_stream(config)
        else:
            await js.update_stream(config)


async def delete_streams(js: JetStreamContext, naming: Naming) -> None:
    for config in stream_configs(naming):
        try:
            await js.delete_stream(config.name)  # type: ignore[arg-type]
        except NotFoundError:
            pass


async def connect(url: str, name: str) -> NatsClient:
    return await nats.connect(url, name=name, max_reconnect_attempts=-1)
