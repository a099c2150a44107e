"""Reading Prometheus text the way Prometheus does, for the observability tests."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.helpers import eventually

# The series each metric type is exposed as (what a PromQL query can name).
_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum"),
    "summary": ("", "_count", "_sum"),
    "info": ("_info",),
}


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples ``name`` whose labels include ``labels`` (0: none)."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the one sample ``name`` with exactly ``labels``; None if absent."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return None


def series_names(text: str) -> set[str]:
    """Every series name the scrape exposes, samples or not yet (a labelled
    metric has no sample until something is counted)."""
    return {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in _SUFFIXES.get(family.type, ("",))
    }


async def endpoint_url(log: Path, timeout: float = 30.0) -> str:
    """The metrics endpoint a child process logged (it was given port 0)."""
    found: list[str] = []

    def logged() -> bool:
        if not log.exists():
            return False
        for line in log.read_text(errors="replace").splitlines():
            if '"metrics endpoint listening"' in line:
                entry = json.loads(line)
                found.append(f"http://{entry['host']}:{entry['port']}")
                return True
        return False

    await eventually(logged, f"the metrics endpoint in {log.name}", timeout=timeout)
    return found[0]
