"""Prometheus metrics, liveness and readiness of tousu's processes.

Each process keeps one :class:`~prometheus_client.CollectorRegistry`
(:func:`process_registry`). NATS services and the relay serve it, with
``/healthz`` and ``/readyz``, on ``TOUSU_METRICS_PORT`` (:func:`serve_endpoint`);
the gateway serves ``/metrics`` on its own port. Figures that cost a query
(consumer lag, relay lag, overdue cases) are read when Prometheus scrapes,
never on the message path.
"""

from tousu.shared.observability.endpoint import serve_endpoint
from tousu.shared.observability.handlers import handler_middlewares
from tousu.shared.observability.readiness import Check, database_check, nats_check, readiness
from tousu.shared.observability.registry import process_registry
from tousu.shared.observability.scrape import ScrapeSource

__all__ = [
    "Check",
    "ScrapeSource",
    "database_check",
    "handler_middlewares",
    "nats_check",
    "process_registry",
    "readiness",
    "serve_endpoint",
]
