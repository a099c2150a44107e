"""The composition root every FastStream service runs through.

A service is a name, the request-reply commands and other requests it
answers on ``<root>.cmd.<service>.<name>``, the consumers of stored events it
runs and its inputs (durable consumers of what channels submit): its entry in
the catalogue (``tousu.shared.application.catalogue``), with the handlers. Replicas
share each request subject through a queue group named after the service, and
each durable consumer through JetStream. Nothing reaches a service any other
way: every request is answered by one wrapper (``replies.answer``) and every
durable message settled by one ``Settler``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from faststream import FastStream
from faststream.nats import NatsBroker
from nats.js import JetStreamContext
from prometheus_client import CollectorRegistry

from tousu.shared.application.catalogue import ServiceEntry
from tousu.shared.application.context_source import ContextSource
from tousu.shared.application.credentials import credential_key
from tousu.shared.application.executor import CommandExecutor
from tousu.shared.application.nats_commands import register_commands, register_requests
from tousu.shared.application.replies import Request, ok
from tousu.shared.attachments.files import Attachments
from tousu.shared.broker_logs import broker_logger
from tousu.shared.consumer import Consumer, build_app
from tousu.shared.consumer.inputs import Input
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
from tousu.shared.tasks import stop_on_signals

T = TypeVar("T")


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
    _parts: dict[object, object] = field(default_factory=dict, repr=False, compare=False)

    def part(self, build: Callable[[Runtime], T]) -> T:
        """``build(self)``, built once in this process: a part several of the
        service's handlers share (intake's desk, with its group commit)."""
        if build not in self._parts:
            self._parts[build] = build(self)
        return cast(T, self._parts[build])


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    # Commands executed by the runtime's executor.
    commands: Mapping[str, type[Command]] = field(default_factory=dict)
    # Other requests it answers (on <root>.cmd.<service>.<name> too).
    requests: Callable[[Runtime], Mapping[str, Request[Any]]] = lambda _runtime: {}
    consumers: Callable[[Runtime], Sequence[Consumer]] = lambda _runtime: ()
    # Durable consumers of what channels submit (not stored events).
    inputs: Callable[[Runtime], Sequence[Input]] = lambda _runtime: ()
    # Background work tied to the app's life: entered before it starts,
    # exited (work stopped) after it has shut down.
    lifespan: Callable[[Runtime], AbstractAsyncContextManager[object]] | None = None
    # Figures of its own that /metrics reads at scrape time.
    scrape_sources: Callable[[Runtime], Sequence[ScrapeSource]] = lambda _runtime: ()
    # What it answers and consumes, as the catalogue says (built by ``of``).
    entry: ServiceEntry | None = None

    @classmethod
    def of(cls, entry: ServiceEntry, **handlers: Any) -> ServiceSpec:
        """The service ``entry`` describes, with its handlers (``requests``,
        ``inputs``, ``consumers``) and background work; checked against the
        entry when composed."""
        return cls(name=entry.name, commands=entry.commands, entry=entry, **handlers)


async def _never(*_args: object) -> Any:
    raise RuntimeError("a described service handles nothing")


def described(entry: ServiceEntry) -> ServiceSpec:
    """``entry`` as a service whose handlers are never called: its broker,
    assembled, has the subscribers the service has (for the AsyncAPI document)."""
    return ServiceSpec.of(
        entry,
        requests=lambda _runtime: {
            name: Request(lambda body: body, _never, "", title=request.title)
            for name, request in entry.requests.items()
        },
        inputs=lambda runtime: [
            Input(
                source.name,
                stream=source.stream(runtime.settings.naming),
                subject=source.subject(runtime.settings.naming),
                handle=_never,
                title=source.title,
            )
            for source in entry.inputs
        ],
        consumers=lambda runtime: [
            Consumer(consumer.name, _never, event_types=consumer.event_types)
            for consumer in entry.consumers
            if consumer.enabled(runtime.settings)
        ],
    )


def _check_against_entry(
    spec: ServiceSpec,
    naming: Naming,
    requests: Mapping[str, Request[Any]],
    inputs: Sequence[Input],
    consumers: Sequence[Consumer],
) -> None:
    """Refuse to compose a service that answers or consumes other than its
    catalogue entry says: the AsyncAPI document is read from the catalogue."""
    entry = spec.entry
    if entry is None:
        return
    declared: dict[str, set[tuple[object, ...]]] = {
        "requests": {(name, r.title) for name, r in entry.requests.items()},
        "inputs": {(i.name, i.stream(naming), i.subject(naming), i.title) for i in entry.inputs},
        "consumers": {
            (c.name, tuple(Consumer(c.name, event_types=c.event_types).filter_subjects(naming)))
            for c in entry.consumers
        },
    }
    composed: dict[str, set[tuple[object, ...]]] = {
        "requests": {(name, r.title) for name, r in requests.items()},
        "inputs": {(i.name, i.stream, i.subject, i.title or i.name) for i in inputs},
        "consumers": {(c.name, tuple(c.filter_subjects(naming))) for c in consumers},
    }
    for kind, wanted in declared.items():
        got = composed[kind]
        # A consumer the settings switch off is not composed.
        if got != wanted and not (kind == "consumers" and got <= wanted):
            raise ValueError(
                f"service {spec.name}: its {kind} {sorted(str(x) for x in got)} are not "
                f"its catalogue entry's {sorted(str(x) for x in wanted)}"
            )


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
    runtime, _durables, app = _compose(settings, spec, store, context, describe=True)
    return runtime, app


def _compose(
    settings: Settings,
    spec: ServiceSpec,
    store: PostgresEventStore,
    context: ContextSource,
    attachments: Attachments | None = None,
    *,
    describe: bool = False,
) -> tuple[Runtime, list[tuple[str, str]], FastStream]:
    """The runtime, the (stream, durable) of the JetStream consumers it runs, the app.

    ``attachments``: where the files commands name are stored; a running
    service always has it (``run_service``), a described one needs none.
    ``describe``: its durable consumers are registered as FastStream
    subscribers (for the AsyncAPI document), not run by pull loops.
    """
    registry = process_registry()
    broker = build_broker(settings, spec.name, registry)
    executor = CommandExecutor(store, context, attachments=attachments)
    runtime = Runtime(settings, store, context, executor, broker, registry)
    naming = settings.naming
    requests = spec.requests(runtime)
    inputs = spec.inputs(runtime)
    consumers = spec.consumers(runtime)
    _check_against_entry(spec, naming, requests, inputs, consumers)
    # The credential key is read (or made) once, before the first request.
    key = credential_key(settings)
    register_commands(broker, naming, spec.name, spec.commands, runtime.executor, key=key)
    register_requests(broker, naming, spec.name, requests, key=key)
    app = build_app(
        settings,
        consumers,
        inputs=inputs,
        broker=broker,
        store=store,
        registry=registry,
        describe=describe,
        app_name=spec.name,
    )
    durables = [
        *consumer_durables(naming, consumers),
        *((source.stream, source.name) for source in inputs),
    ]
    return runtime, durables, app


def _endpoint(
    runtime: Runtime, spec: ServiceSpec, durables: Sequence[tuple[str, str]]
) -> AbstractAsyncContextManager[int | None]:
    broker = runtime.broker

    async def jetstream() -> JetStreamContext | None:
        if not await broker.ping(timeout=1.0):
            return None
        return (await broker.connect()).jetstream()

    async def nats_check() -> str:
        return "ok" if await broker.ping(timeout=1.0) else "error: not connected"

    lag = ConsumerLag(runtime.registry, jetstream, durables)
    return serve_endpoint(
        runtime.settings,
        runtime.registry,
        sources=[lag, *spec.scrape_sources(runtime)],
        checks={"database": database_check(runtime.store.pool), "nats": nats_check},
    )


async def serve(app: FastStream) -> None:
    """Run ``app`` until SIGTERM or SIGINT, then stop it gracefully (its
    consumers settle what they hold, then the broker closes).

    FastStream's own ``run`` looks at its exit flag every 0.1 s: ten wake-ups
    a second in every idle service, most of a quiet stack's CPU. Here the
    signal itself ends the wait."""
    with stop_on_signals() as stop:
        await app.start()
        try:
            await stop.wait()
        finally:
            await app.stop()


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
        # Every service's commands may name files (docs/attachments.md): the
        # executor asks the deployment's store whether each is there.
        attachments = Attachments.for_settings(settings, store.pool)
        runtime, durables, app = _compose(settings, spec, store, context, attachments)
        async with contextlib.AsyncExitStack() as background:
            if spec.lifespan is not None:
                await background.enter_async_context(spec.lifespan(runtime))
            await background.enter_async_context(_endpoint(runtime, spec, durables))
            await serve(app)
    finally:
        await context.stop()
        await store.close()
