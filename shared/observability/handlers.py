"""Handled messages, errors and handler latency: FastStream's Prometheus middleware.

FastStream labels each message with the service (``app_name``), the subject it
came on (``handler``) and how it was settled (``status``). A consumer of stored
events settles its messages itself (``tousu.shared.consumer``), so FastStream would
count every one as acked; :class:`ConsumerSettlement` reports what the
consumer really did, so a retried message counts as ``nacked`` and a
dead-lettered one as ``rejected``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from faststream import BaseMiddleware
from faststream.message import StreamMessage
from faststream.nats.prometheus import NatsPrometheusMiddleware
from prometheus_client import CollectorRegistry

from tousu.shared.consumer import Outcome


class ConsumerSettlement(BaseMiddleware):
    """Records a consumer's :class:`Outcome` as the message's ack status.

    The message is already settled on the server; FastStream's ack, nack and
    reject then only note the status (they skip a settled NATS message).
    """

    async def consume_scope(
        self, call_next: Callable[[Any], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        result = await call_next(msg)
        if result is Outcome.RETRYING:
            await msg.nack()
        elif result is Outcome.DEAD_LETTERED:
            await msg.reject()
        elif isinstance(result, Outcome):
            await msg.ack()
        return result


def handler_middlewares(
    registry: CollectorRegistry, service: str
) -> tuple[NatsPrometheusMiddleware, type[ConsumerSettlement]]:
    """Middlewares for a service's broker, outermost first.

    The settlement must run inside the Prometheus middleware, which reads the
    status when the handler has returned.
    """
    return NatsPrometheusMiddleware(registry=registry, app_name=service), ConsumerSettlement
