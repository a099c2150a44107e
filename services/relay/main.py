"""The relay process: ``tousu service relay`` and ``python -m tousu.services.relay``."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from functools import partial
from typing import Any

from tousu.services.relay import quarantine
from tousu.services.relay.lag import pending_events
from tousu.services.relay.leader import AdvisoryLeader
from tousu.services.relay.metrics import RelayActivity, RelayLag, RelayQuarantine
from tousu.services.relay.publisher import Relay
from tousu.services.relay.sealer import keep_sealed
from tousu.shared.logs import configure_logging, get_logger
from tousu.shared.nats_setup import connect, ensure_streams
from tousu.shared.observability import database_check, nats_check, process_registry, serve_endpoint
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore
from tousu.shared.tasks import cancel_and_wait, run_until, stop_on_signals

log = get_logger(__name__)


async def run(settings: Settings) -> None:
    """Relay until SIGTERM, SIGINT or cancellation: lead when possible, else stand by."""
    configure_logging("relay", settings.log_level, settings.log_format)
    if not settings.database_url or not settings.nats_url:
        raise RuntimeError("the relay needs TOUSU_DATABASE_URL and TOUSU_NATS_URL")
    store = await PostgresEventStore.connect(settings.database_url, min_size=1, max_size=3)
    try:
        nc = await connect(settings.nats_url, name="tousu-relay")
        try:
            await ensure_streams(nc.jetstream(), settings.naming, settings.stream_replicas)
            relay = Relay(
                store,
                nc,
                settings.naming,
                batch_size=settings.relay_batch_size,
                idle_recheck=settings.store_idle_recheck,
                quiet_recheck=settings.store_quiet_recheck,
                checkpoint_interval=settings.relay_checkpoint_interval,
                lag_counter=partial(pending_events, store.pool),
            )
            leader = AdvisoryLeader(
                settings.database_url, retry_interval=settings.relay_standby_retry
            )
            leading = asyncio.Event()
            registry = process_registry()
            registry.register(RelayActivity(lambda: relay.stats, leading.is_set))

            async with serve_endpoint(
                settings,
                registry,
                sources=[RelayLag(registry, store.pool), RelayQuarantine(registry, store.pool)],
                checks={
                    "database": database_check(store.pool),
                    "nats": nats_check(lambda: nc.is_connected),
                    "quarantine": partial(quarantine.readiness_check, store.pool),
                },
            ):
                log.info("relay started", stream=settings.naming.events_stream)
                await _until_signalled(_lead_forever(leader, relay, store, leading, settings))
            log.info("relay closing", published=relay.stats.published)
        finally:
            await nc.close()
    finally:
        await store.close()


async def _lead_forever(
    leader: AdvisoryLeader,
    relay: Relay,
    store: PostgresEventStore,
    leading: asyncio.Event,
    settings: Settings,
) -> None:
    while True:
        async with leader.lead() as lease:
            leading.set()
            try:
                # The leader seals the hash chain too: one process per system
                # that always runs, and sealing must not wait for publishing.
                await lease.hold(_publish_and_seal(relay, store, settings))
            finally:
                leading.clear()
        log.warning("relay lost the leadership; standing by")


async def _publish_and_seal(relay: Relay, store: PostgresEventStore, settings: Settings) -> None:
    sealer = asyncio.create_task(
        keep_sealed(
            store,
            recheck=settings.store_idle_recheck,
            quiet_recheck=settings.store_quiet_recheck,
            gather=settings.chain_seal_interval,
        )
    )
    try:
        await relay.run()
    finally:
        await cancel_and_wait(sealer)


async def _until_signalled(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` until SIGTERM or SIGINT; it has stopped when this returns."""
    with stop_on_signals() as stop:
        if await run_until(work, stop):
            log.info("relay stopped on signal")
