"""`tousu bench --quick` runs and prints well-formed JSON (a smoke check, not a timing)."""

from __future__ import annotations

import json
import subprocess
import sys


def test_bench_quick_prints_json(child_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tousu", "bench", "--quick"],
        env=child_env,
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    result = json.loads(done.stdout)
    assert result["quick"] is True
    store = result["store"]
    for part in ("append_single", "append_single_one_writer", "append_batched", "read_all"):
        assert store[part]["events"] > 0 and store[part]["events_per_s"] > 0
    assert store["read_all"]["events"] == sum(
        store[p]["events"] for p in ("append_single", "append_single_one_writer", "append_batched")
    )
    assert result["relay"]["events"] > 0 and result["relay"]["events_per_s"] > 0
    projections = result["projections"]
    assert projections["generated"]["events"] > 0 and projections["generated"]["complaints"] > 0
    for name in ("case_view", "kpi_facts"):
        rebuilt = projections[name]
        assert rebuilt["events"] == projections["generated"]["events"]
        assert rebuilt["rows"] > 0 and rebuilt["seconds"] > 0 and rebuilt["events_per_s"] > 0
    # One case_view row per complaint; kpi_facts has a row per period of each.
    assert projections["case_view"]["rows"] == projections["generated"]["complaints"]
    assert projections["kpi_facts"]["rows"] > projections["case_view"]["rows"]
    kpis = result["kpis"]
    assert kpis["kpi_facts_rows"] > 0 and kpis["case_view_rows"] == kpis["generated"]["complaints"]
    assert kpis["queries"]
    for query in kpis["queries"].values():
        assert query["groups"] > 0 and query["received"] > 0
        assert 0 < query["min_ms"] <= query["median_ms"] <= query["max_ms"]
    assert kpis["queries"]["year_now/total"]["received"] == kpis["generated"]["complaints"]
