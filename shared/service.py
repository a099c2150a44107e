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
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry

from tousu.shared.application.context_source import ContextSource
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.application.nats_commands import register_commands
from tousu.shared.application.replies import ok
from tousu.shared.broker_logs import broker_logger
from tousu.shared.consumer import Consumer, build_app
from tousu.shared.domain.commands import Command
from tousu.shared.naming import Naming
from tousu.shared.observability import (
    ScrapeSource,
    database_check,
    handler_middlewares,
    process_registry,
    serve_endpoint,
)
from tousu.shared.observability.consumer_lag import ConsumerLag, consumer_durables
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore


@dataclass(frozen=True)
class Runtime:
    """What a running service's handlers share."""

    settings: Settings
    store: PostgresEventStore
    context: ContextSource
    executor: CommandExecutor
    broker: NatsBroker
    # The process's metrics (served on TOUSU_METRICS_PORT when set).
    registry: CollectorRegistry


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
    # Figures of its own that /metrics reads at scrape time.
    scrape_sources: Callable[[Runtime], Sequence[ScrapeSource]] = lambda _runtime: ()
    # (stream, durable) of JetStream consumers it runs besides its consumers
    # of stored events, for the consumer lag metric.
    durables: Callable[[Naming], Sequence[tuple[str, str]]] = lambda _naming: ()


def build_broker(
    settings: Settings, service: str, registry: CollectorRegistry | None = None
) -> NatsBroker:
    """The service's broker; with ``registry``, its handlers are measured there."""
    if not settings.nats_url:
        raise ValueError("settings.nats_url is not set (resolve it with tousu.connect first)")
    broker = NatsBroker(
        settings.nats_url,
        name=f"tousu-{service}",
        max_reconnect_attempts=-1,
        log_level=logging.DEBUG,
        logger=broker_logger(),
        middlewares=handler_middlewares(registry, service) if registry is not None else (),
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
    runtime, _consumers, app = _compose(settings, spec, store, context)
    return runtime, app


def _compose(
    settings: Settings, spec: ServiceSpec, store: PostgresEventStore, context: ContextSource
) -> tuple[Runtime, Sequence[Consumer], FastStream]:
    registry = process_registry()
    broker = build_broker(settings, spec.name, registry)
    executor = CommandExecutor(store, context)
    runtime = Runtime(settings, store, context, executor, broker, registry)
    register_commands(broker, settings.naming, spec.name, spec.commands, runtime.executor)
    if spec.extra is not None:
        spec.extra(runtime)
    consumers = spec.consumers(runtime)
    app = build_app(settings, consumers, broker=broker, store=store, registry=registry)
    return runtime, consumers, app


def _endpoint(
    runtime: Runtime, spec: ServiceSpec, consumers: Sequence[Consumer]
) -> AbstractAsyncContextManager[int | None]:
    broker = runtime.broker

    async def jetstream() -> JetStreamContext | None:
        if not await broker.ping(timeout=1.0):
            return None
        return (await broker.connect()).jetstream()

    async def nats_check() -> str:
        return "ok" if await broker.ping(timeout=1.0) else "error: not connected"

    naming = runtime.settings.naming
    durables = [*consumer_durables(naming, consumers), *spec.durables(naming)]
    lag = ConsumerLag(runtime.registry, jetstream, durables)
    return serve_endpoint(
        runtime.settings,
        runtime.registry,
        sources=[lag, *spec.scrape_sources(runtime)],
        checks={"database": database_check(runtime.store.pool), "nats": nats_check},
    )


async def run_service(settings: Settings, spec: ServiceSpec) -> None:
    if not settings.database_url:
        raise ValueError("settings.database_url is not set (resolve it with tousu.connect first)")
    store = await PostgresEventStore.connect(
        settings.database_url,
        min_size=1,  # more only when the work needs them
        max_size=settings.database_pool_size,
    )
    context = ContextSource.for_settings(settings)
    try:
        await context.start(settings.database_url)
        runtime, consumers, app = _compose(settings, spec, store, context)
        async with contextlib.AsyncExitStack() as background:
            if spec.lifespan is not None:
                await background.enter_async_context(spec.lifespan(runtime))
            await background.enter_async_context(_endpoint(runtime, spec, consumers))
            await app.run()
    finally:
        await context.stop()
        await store.close()
