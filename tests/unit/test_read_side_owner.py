"""The read models have one owner: only the metrics service queries its
projections' tables; everyone else reads them through ``services/metrics/views.py``."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What tousu installs (bench/ and the tests may look at the tables directly).
PACKAGES = ("services", "shared", "tousu")
OWNER = ROOT / "services" / "metrics"
METRICS_TABLES = (
    "case_view",
    "kpi_facts",
    "kpi_facts_rollup",
    "supervision_items",
    "complaint_terms",
)
# A table named where SQL reads or writes it.
_SQL = re.compile(
    r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(" + "|".join(METRICS_TABLES) + r")\b", re.IGNORECASE
)


def _sources() -> list[Path]:
    found = []
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            # tousu/shared and tousu/services are links to the folders above.
            if path.is_relative_to(ROOT / "tousu" / "shared") or path.is_relative_to(
                ROOT / "tousu" / "services"
            ):
                continue
            if not path.is_relative_to(OWNER):
                found.append(path)
    return found


def test_only_metrics_queries_its_tables() -> None:
    outside = [
        f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}: {match.group(0)}"
        for path in _sources()
        for text in [path.read_text(encoding="utf-8")]
        for match in _SQL.finditer(text)
    ]
    assert outside == []


def test_the_check_finds_a_query() -> None:
    # The pattern must match the way the views write their SQL, or the test
    # above could never fail.
    views = (OWNER / "views.py").read_text(encoding="utf-8")
    assert {m.group(1) for m in _SQL.finditer(views)} >= {"case_view", "supervision_items"}
