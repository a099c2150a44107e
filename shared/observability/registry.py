"""The one registry a process's metrics live in."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)

# A `_created` twin of every counter and histogram doubles the series for a
# figure no dashboard reads (a process restart shows as a counter reset).
disable_created_metrics()  # type: ignore[no-untyped-call]


def process_registry() -> CollectorRegistry:
    """A registry with the process's own CPU, memory, file and GC figures.

    Not prometheus_client's global one: tests run several services in one
    process, and each must count only its own messages.
    """
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry
