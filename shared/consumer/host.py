"""Runs a service's durable consumers beside its FastStream NATS broker.

Each :class:`Consumer` gets two durable pull consumers: one on the events
stream (its filter subjects) and one on its own ``dlq-retry`` subject, so a
``tousu dlq retry`` replays an entry to the consumer that failed it only.
Each :class:`Input` gets one on its stream. They are consumed by batched
pull loops on the broker's connection (``tousu.shared.consumer.pull``: the
hot path, kept out of FastStream's per-message machinery); the broker's own
subscribers (requests, commands) run as FastStream runs them. A host built
to ``describe`` registers them as FastStream subscribers instead, never
started, so the AsyncAPI document lists them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from faststream import FastStream
from faststream.message import StreamMessage
from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy
from prometheus_client import CollectorRegistry

from tousu.shared.broker_logs import broker_logger
from tousu.shared.consumer.consumer import Consumer, subject_matches
from tousu.shared.consumer.dead_letter import DeadLetters
from tousu.shared.consumer.inputs import Input, InputProcessor
from tousu.shared.consumer.policy import RetryPolicy
from tousu.shared.consumer.processor import MessageProcessor, Outcome
from tousu.shared.consumer.pull import MessageMeter, OnMessage, PullLoop, PullRoute
from tousu.shared.logs import get_logger
from tousu.shared.nats_setup import ensure_streams
from tousu.shared.settings import Settings
from tousu.shared.store import EventStore
from tousu.shared.store.postgres import PostgresEventStore

log = get_logger("tousu.consumer")

# Seconds a fetch request waits on the server for messages; it returns as soon
# as any arrive, so this bounds only idle polling (and shutdown latency).
# The default of Settings.consumer_fetch_timeout (TOUSU_CONSUMER_FETCH_TIMEOUT).
FETCH_TIMEOUT = 5.0

# Consumers of this process filtering in the client (nats-server < 2.10); the
# notice is logged once a process, at the first.
_CLIENT_FILTERING_SAID: list[str] = []


async def raw_message(msg: StreamMessage[Any]) -> Msg:
    """The NATS message itself, as the handler's one argument.

    FastStream's default decoder would parse JSON before we see the message;
    decoding is ours, so that a malformed payload is dead-lettered, not lost.
    And a handler that asked for the message as a second, ``Context``
    argument would have FastStream resolve it in a worker thread, a thread
    hop per message (about 8% of a consumer's CPU under load).
    """
    raw: Msg = msg.raw_message
    return raw


def consumer_config(
    durable: str, filter_subjects: list[str], deliver_policy: DeliverPolicy, ack_wait: float
) -> ConsumerConfig:
    single = len(filter_subjects) == 1
    return ConsumerConfig(
        name=durable,
        durable_name=durable,
        # One subject goes in `filter_subject`, which every 2.9+ server knows;
        # a 2.9 server silently ignores `filter_subjects` (2.10+).
        filter_subject=filter_subjects[0] if single else None,
        filter_subjects=None if single else filter_subjects,
        deliver_policy=deliver_policy,
        ack_policy=JsAckPolicy.EXPLICIT,
        ack_wait=ack_wait,
        # We count deliveries and dead-letter ourselves; a server-side limit
        # would stop redelivering silently, with nothing in the DLQ.
        max_deliver=-1,
    )


class ConsumerHost:
    """Consumers and inputs of one service process, beside ``broker`` (created if not given).

    ``store`` is opened from ``settings.database_url`` when not given (and
    there are consumers), and then closed on stop. Use :meth:`app` for a
    runnable FastStream application, or ``async with host:`` to run it inside
    another program (tests, `tousu up`). With ``registry``, the group commit
    and every message handled are measured there.
    """

    def __init__(
        self,
        settings: Settings,
        consumers: Sequence[Consumer],
        *,
        inputs: Sequence[Input] = (),
        broker: NatsBroker | None = None,
        store: EventStore | None = None,
        policy: RetryPolicy | None = None,
        registry: CollectorRegistry | None = None,
        describe: bool = False,
        app_name: str = "tousu",
    ) -> None:
        names = [c.name for c in consumers] + [i.name for i in inputs]
        if len(set(names)) != len(names):
            raise ValueError(f"consumer names must be unique: {names}")
        self.settings = settings
        self.consumers = list(consumers)
        self.inputs = list(inputs)
        self.broker = broker or NatsBroker(
            _required(settings.nats_url, "nats_url"),
            name=f"tousu-{'-'.join(names) or 'consumers'}",
            max_reconnect_attempts=-1,
            # FastStream's two lines per message ("Received", "Processed") only
            # at DEBUG; the consumer logs retries and dead letters itself.
            log_level=logging.DEBUG,
            logger=broker_logger(),
        )
        self.policy = policy or RetryPolicy.from_settings(settings)
        self._store = store
        self._owns_store = store is None
        self._registry = registry
        self._app_name = app_name
        self._processors: dict[str, MessageProcessor] = {}
        # Filters applied here because the server cannot (see _event_filters).
        self._client_filters: dict[str, list[str]] = {}
        self._routes: list[PullRoute] = []
        self._loops: list[PullLoop] = []
        if describe:
            for consumer in self.consumers:
                self._describe_consumer(consumer)
            for source in self.inputs:
                self._describe_input(source)

    # -- lifecycle ---------------------------------------------------------
    async def prepare(self) -> None:
        """Everything the pull loops need before they start."""
        connection: NatsClient = await self.broker.connect()
        js = connection.jetstream()
        naming = self.settings.naming
        await ensure_streams(js, naming, self.settings.stream_replicas)
        dead_letters = DeadLetters(js, naming)
        self._routes = []
        if self.consumers:
            store = await self._open_store()
        for consumer in self.consumers:
            # Create or update: nats-py only binds to an existing durable and
            # would keep its old filter or ack_wait.
            subjects = self._event_filters(consumer, connection)
            await _declare(js, naming.events_stream, self._events_config(consumer, subjects))
            await _declare(js, naming.dlq_stream, self._replay_config(consumer))
            self._processors[consumer.name] = MessageProcessor(
                consumer,
                store,
                dead_letters,
                self.policy,
                group_commit=self.settings.group_commit,
                registry=self._registry,
            )
            replays = self._on_message(consumer.name, replay=True)
            self._routes += [
                PullRoute(naming.events_stream, consumer.name, self._on_message(consumer.name)),
                PullRoute(naming.dlq_stream, consumer.retry_durable, replays),
            ]
        for source in self.inputs:
            await _declare(js, source.stream, _input_config(source))
            processor = InputProcessor(source, dead_letters, self.policy)
            self._routes.append(PullRoute(source.stream, source.name, processor.process))
        log.info(
            "consumers ready",
            consumers=[c.name for c in self.consumers],
            inputs=[i.name for i in self.inputs],
        )

    async def start_loops(self) -> None:
        connection: NatsClient = await self.broker.connect()
        meter = None if self._registry is None else MessageMeter(self._registry, self._app_name)
        for route in self._routes:
            loop = PullLoop(
                connection,
                route,
                batch=self.settings.consumer_batch_size,
                timeout=self.settings.consumer_fetch_timeout,
                meter=meter,
            )
            await loop.start()
            self._loops.append(loop)

    async def stop_loops(self) -> None:
        loops, self._loops = self._loops, []
        for loop in loops:
            await loop.stop()

    async def start(self) -> None:
        await self.prepare()
        await self.broker.start()
        await self.start_loops()

    async def stop(self) -> None:
        try:
            await self.stop_loops()
            await self.broker.stop()
        finally:
            await self.close_store()

    async def close_store(self) -> None:
        if self._owns_store and self._store is not None:
            await self._store.close()
            self._store = None

    async def __aenter__(self) -> ConsumerHost:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    def app(self) -> FastStream:
        return FastStream(
            self.broker,
            logger=broker_logger(),
            on_startup=[self.prepare],
            after_startup=[self.start_loops],
            on_shutdown=[self.stop_loops],
            after_shutdown=[self.close_store],
        )

    # -- wiring ------------------------------------------------------------
    def _describe_consumer(self, consumer: Consumer) -> None:
        naming = self.settings.naming
        routes = (
            (naming.events_stream, self._events_config(consumer), False),
            (naming.dlq_stream, self._replay_config(consumer), True),
        )
        for stream, config, replay in routes:
            self._describe(stream, config, f"{consumer.name}{' replay' if replay else ''}")

    def _describe_input(self, source: Input) -> None:
        self._describe(source.stream, _input_config(source), source.title or source.name)

    def _describe(self, stream: str, config: ConsumerConfig, title: str) -> None:
        """A FastStream subscriber for the AsyncAPI document only: never started."""
        subscriber = self.broker.subscriber(
            stream=JStream(stream, declare=False),
            durable=config.durable_name,
            config=config,
            pull_sub=PullSub(batch_size=self.settings.consumer_batch_size),
            ack_policy=AckPolicy.MANUAL,
            decoder=raw_message,
            no_reply=True,
            title=title,
        )
        subscriber(_described)

    def _on_message(self, name: str, *, replay: bool = False) -> OnMessage:
        async def on_message(msg: Msg) -> Outcome | None:
            wanted = self._client_filters.get(name)
            if not replay and wanted and not any(subject_matches(p, msg.subject) for p in wanted):
                await msg.ack()
                return None
            return await self._processors[name].process(msg, replay=replay)

        return on_message

    def _event_filters(self, consumer: Consumer, connection: NatsClient) -> list[str]:
        subjects = consumer.filter_subjects(self.settings.naming)
        version = connection.connected_server_version
        if len(subjects) > 1 and (version.major, version.minor) < (2, 10):
            # nats-server 2.9 knows one filter subject only (and silently drops
            # a list): take all events and filter here. A supported, documented
            # configuration (docs/demo-and-cli-output.md), not a fault: said
            # once a process at INFO, each consumer at DEBUG.
            first = not _CLIENT_FILTERING_SAID
            _CLIENT_FILTERING_SAID.append(consumer.name)
            (log.info if first else log.debug)(
                "nats-server < 2.10: filtering events in the client",
                server=f"{version.major}.{version.minor}.{version.patch}",
                consumer=consumer.name,
                subjects=subjects,
            )
            self._client_filters[consumer.name] = subjects
            return [self.settings.naming.all_events]
        self._client_filters.pop(consumer.name, None)
        return subjects

    def _events_config(
        self, consumer: Consumer, subjects: list[str] | None = None
    ) -> ConsumerConfig:
        return consumer_config(
            consumer.name,
            subjects or consumer.filter_subjects(self.settings.naming),
            consumer.deliver_policy,
            consumer.ack_wait,
        )

    def _replay_config(self, consumer: Consumer) -> ConsumerConfig:
        return consumer_config(
            consumer.retry_durable,
            [self.settings.naming.dlq_retry(consumer.name)],
            DeliverPolicy.ALL,  # replays asked for while the service was down
            consumer.ack_wait,
        )

    async def _open_store(self) -> EventStore:
        if self._store is None:
            url = _required(self.settings.database_url, "database_url")
            self._store = await PostgresEventStore.connect(url)
        return self._store


async def _declare(js: JetStreamContext, stream: str, config: ConsumerConfig) -> None:
    info = await js.add_consumer(stream, config)
    wanted, actual = _filters(config), _filters(info.config)
    if wanted != actual:
        # The consumer would get messages it must not: never run like that.
        raise RuntimeError(
            f"NATS did not keep the filter of consumer {config.durable_name} "
            f"(asked {wanted}, got {actual})"
        )


def _filters(config: ConsumerConfig) -> list[str]:
    if config.filter_subject:
        return [config.filter_subject]
    return sorted(config.filter_subjects or [])


def build_app(
    settings: Settings,
    consumers: Sequence[Consumer],
    *,
    inputs: Sequence[Input] = (),
    broker: NatsBroker | None = None,
    store: EventStore | None = None,
    registry: CollectorRegistry | None = None,
    describe: bool = False,
    app_name: str = "tousu",
) -> FastStream:
    """A FastStream app running ``consumers`` and ``inputs``; add other
    subscribers to ``broker``. With ``registry``, they are measured there."""
    host = ConsumerHost(
        settings,
        consumers,
        inputs=inputs,
        broker=broker,
        store=store,
        registry=registry,
        describe=describe,
        app_name=app_name,
    )
    return host.app()


def _input_config(source: Input) -> ConsumerConfig:
    # JetStream's default ack wait (30 s), as for the consumers of events.
    return consumer_config(source.name, [source.subject], DeliverPolicy.ALL, 30.0)


async def _described(*_args: object) -> None:
    raise RuntimeError("a described subscription handles nothing")


def _required(value: str | None, name: str) -> str:
    if not value:
        raise ValueError(f"settings.{name} is not set (resolve it with tousu.connect first)")
    return value
