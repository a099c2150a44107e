"""The composition root every FastStream service runs through.

A service is a name, the request-reply commands it answers on
``<root>.cmd.<service>.<command>``, and the consumers of stored events it
runs. Replicas share each command subject through a queue group named after
the service, and each durable consumer through JetStream.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from faststream import FastStream
from faststream.nats import NatsBroker

from shared.application.context_source import ContextSource
from shared.application.executor import CommandExecutor
from shared.application.nats_commands import register_commands
from shared.application.replies import ok
from shared.consumer import Consumer, build_app
from shared.domain.commands import Command
from shared.settings import Settings
from shared.store.postgres import PostgresEventStore


@dataclass(frozen=True)
class Runtime:
    """What a running service's handlers share."""

    settings: Settings
    store: PostgresEventStore
    context: ContextSource
    executor: CommandExecutor
    broker: NatsBroker


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    commands: Mapping[str, type[Command]] = field(default_factory=dict)
    consumers: Callable[[Runtime], Sequence[Consumer]] = lambda _runtime: ()
    # Anything else the service subscribes to or starts (given the runtime).
    extra: Callable[[Runtime], None] | None = None
    # Background work tied to the app's life: entered before it starts,
    # exited (work stopped) after it has shut down.
    lifespan: Callable[[Runtime], AbstractAsyncContextManager[object]] | None = None


def build_broker(settings: Settings, service: str) -> NatsBroker:
    if not settings.nats_url:
        raise ValueError("settings.nats_url is not set (resolve it with tousu.connect first)")
    broker = NatsBroker(
        settings.nats_url,
        name=f"tousu-{service}",
        max_reconnect_attempts=-1,
        log_level=logging.DEBUG,
    )
    subject = settings.naming.command(service, "ping")

    @broker.subscriber(subject, queue=service)
    async def ping() -> dict[str, Any]:
        """Liveness over NATS: which process answered."""
        return ok({"service": service, "pid": os.getpid(), "host": platform.node()})

    return broker


def assemble(
    settings: Settings, spec: ServiceSpec, store: PostgresEventStore, context: ContextSource
) -> tuple[Runtime, FastStream]:
    """``spec``'s broker with every subscriber registered, and its app; not connected.

    Also what the gateway's /asyncapi reads the subjects from.
    """
    broker = build_broker(settings, spec.name)
    runtime = Runtime(settings, store, context, CommandExecutor(store, context), broker)
    register_commands(broker, settings.naming, spec.name, spec.commands, runtime.executor)
    if spec.extra is not None:
        spec.extra(runtime)
    return runtime, build_app(settings, spec.consumers(runtime), broker=broker, store=store)


async def run_service(settings: Settings, spec: ServiceSpec) -> None:
    if not settings.database_url:
        raise ValueError("settings.database_url is not set (resolve it with tousu.connect first)")
    store = await PostgresEventStore.connect(settings.database_url)
    context = ContextSource.for_settings(settings)
    try:
        await context.start(settings.database_url)
        runtime, app = assemble(settings, spec, store, context)
        async with contextlib.AsyncExitStack() as background:
            if spec.lifespan is not None:
                await background.enter_async_context(spec.lifespan(runtime))
            await app.run()
    finally:
        await context.stop()
        await store.close()
