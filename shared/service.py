"""The composition root every FastStream service runs through.

A service is a name, the consumers of stored events it runs, and the
request-reply commands it answers on ``<root>.cmd.<service>.<command>``.
Replicas share each command subject through a queue group named after the
service, and each durable consumer through JetStream.
"""

from __future__ import annotations

import logging
import os
import platform
from collections.abc import Callable, Sequence
from typing import Any

from faststream.nats import NatsBroker

from shared.consumer import Consumer, build_app
from shared.settings import Settings

Register = Callable[[NatsBroker], None]


def ok(result: Any) -> dict[str, Any]:
    return {"ok": True, "result": result}


def error(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message, "details": details}}


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


async def run_service(
    settings: Settings,
    service: str,
    consumers: Sequence[Consumer] = (),
    register: Register | None = None,
) -> None:
    broker = build_broker(settings, service)
    if register is not None:
        register(broker)
    await build_app(settings, consumers, broker=broker).run()
