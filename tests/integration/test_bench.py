"""`tousu bench --quick` runs and prints well-formed JSON (a smoke check, not a timing);
the pipeline part does so with every service and the relay as processes of their own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tousu.services import SERVICES
from tousu.services.metrics.projections import PROJECTIONS


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
    for name in ("all", "case_view", "kpi_facts"):
        rebuilt = projections[name]
        assert rebuilt["events"] == projections["generated"]["events"]
        assert rebuilt["seconds"] > 0 and rebuilt["events_per_s"] > 0
    # One case_view row per complaint; kpi_facts has a row per period of each.
    assert projections["case_view"]["rows"] == projections["generated"]["complaints"]
    assert projections["kpi_facts"]["rows"] > projections["case_view"]["rows"]
    # All at once: the same rows as each alone, for every projection.
    names = {p.name for p in PROJECTIONS}
    assert projections["all"]["rows"] == {n: projections[n]["rows"] for n in names}
    kpis = result["kpis"]
    assert kpis["generated"]["kpi_facts_rows"] > kpis["generated"]["complaints"] > 0
    assert kpis["queries"]
    for query in kpis["queries"].values():
        assert query["groups"] > 0 and query["received"] > 0
        assert 0 < query["min_ms"] <= query["median_ms"] <= query["max_ms"]
    assert kpis["queries"]["year_now/total"]["received"] == kpis["generated"]["complaints"]
    pipeline = result["pipeline"]
    assert set(pipeline["processes"]) == {"relay", *SERVICES}
    assert set(pipeline["phases"]) == {"nats_at_rate", "http_at_rate"}
    for phase in pipeline["phases"].values():
        # Every complaint submitted in the window was accepted and routed, none failed.
        assert phase["submitted"] > 0 and phase["errors"] == 0 and phase["unfinished"] == 0
        assert phase["complaints_per_s"] > 0 and phase["events_per_s"] >= phase["complaints_per_s"]
        accepted, routed = phase["latency_ms"]["accepted"], phase["latency_ms"]["routed"]
        assert accepted["n"] == routed["n"] == phase["submitted"]
        # Routed after accepted, complaint by complaint, so also in each percentile.
        for q in ("p50", "p95", "p99", "max"):
            assert 0 < accepted[q] <= routed[q]
        assert routed["p50"] <= routed["p95"] <= routed["p99"] <= routed["max"]
        # Each process, and PostgreSQL's backends when the server is on this machine.
        measured = set(phase["cpu_s"]) - {"postgres"}
        assert measured == set(pipeline["processes"]) and phase["cpu_s"]["intake"] > 0
        assert phase["load_generator_cpu_s"] > 0  # it sent and observed every complaint
        # At least intake's one per complaint, whatever the statistics' lag.
        assert phase["transactions_per_complaint"] > 0
    floor = result["floor"]
    assert {r["way"] for r in floor["consume"]} == {"faststream", "pull_loop"}
    assert all(r["messages"] > 0 and r["consumer_cpu_ms_per_message"] > 0 for r in floor["consume"])
    assert len(floor["pull_loop_cpu_over_faststream"]) == 1
    assert floor["transaction"]["transactions"] > 0
    assert floor["transaction"]["client_cpu_ms_per_transaction"] > 0
    photos = result["attachments"]
    assert set(photos) == {"12MP", "3MP"}
    for photo in photos.values():
        steps = photo["steps"]
        assert photo["photo"]["bytes_kept"] > 0 and photo["photo"]["thumbnail_bytes"] > 0
        assert steps["baseline: hash the bytes"]["x_baseline"] == 1.0
        assert steps["check + re-encode + thumbnail"]["median_ms"] > 0


def test_the_tousu_script_finds_the_benchmarks_from_any_folder(
    child_env: dict[str, str], tmp_path: Path
) -> None:
    """The `tousu` script of a source checkout's virtualenv runs `tousu bench`
    outside the checkout too (bench/ is not installed; the CLI finds it beside
    the package), and the attachments part needs no servers."""
    script = Path(sys.executable).parent / "tousu"
    done = subprocess.run(
        [str(script), "bench", "attachments", "--quick"],
        env=child_env,
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    result = json.loads(done.stdout)
    assert set(result) == {"machine", "quick", "attachments"}
    assert result["attachments"]["3MP"]["rounds"] == 3
