"""The gateway's ``/metrics``: requests, their latency and status, by route template."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator

# Route latency (seconds); the library's default (0.1, 0.5, 1) cannot tell a
# 5 ms read from a 90 ms one.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def instrument(app: FastAPI, registry: CollectorRegistry) -> None:
    """Measure every request (call last: the measuring middleware must be outermost)."""
    Instrumentator(
        should_group_status_codes=False,  # a 409 and a 422 mean different things
        # Probes and scrapes every few seconds would drown the real traffic.
        excluded_handlers=["^/metrics$", "^/healthz$", "^/readyz$"],
        registry=registry,
    ).instrument(
        app,
        metric_namespace="tousu",
        metric_subsystem="gateway",
        latency_lowr_buckets=LATENCY_BUCKETS,
    ).expose(app, include_in_schema=False)
