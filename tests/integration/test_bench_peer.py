"""`tousu bench peer --quick` runs tousu's pipeline and the plain event-sourcing peer
in one command and prints both, their ratios and the load average beside each round;
the peer receives its submissions over NATS and routes every one exactly once; both
run on a nats-server 2.10 or later (the test servers' 2.9 is replaced for the run),
and each round says what both cost idle."""

from __future__ import annotations

import json
import subprocess
import sys

UNDER_LOAD = {
    "flat_out_complaints_per_s",
    "flat_out_cpu_ms_per_complaint",
    "at_rate_p50_ms",
    "at_rate_p99_ms",
    "at_rate_cpu_ms_per_complaint",
    "at_rate_transactions_per_complaint",
}
IDLE = {"idle_cpu_ms_per_s", "idle_postgres_cpu_ms_per_s", "idle_transactions_per_s"}
SUMMARY = UNDER_LOAD | IDLE


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2])


def test_bench_peer_quick_prints_both_and_ratios(child_env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tousu", "bench", "peer", "--quick"],
        env=child_env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    result = json.loads(done.stdout)
    assert result["quick"] is True
    assert _version(result["peer"]["nats_server"]) >= (2, 10)
    rounds = result["peer"]["rounds"]
    assert len(rounds) == result["peer"]["config"]["rounds"] >= 1
    for r in rounds:
        for side in ("tousu", "peer"):
            figures = r[side]
            assert len(figures["load_avg_before"]) == len(figures["load_avg_after"]) == 3
            assert set(figures) - {"load_avg_before", "load_avg_after"} == SUMMARY
            assert figures["flat_out_complaints_per_s"] > 0
            assert figures["at_rate_p50_ms"] <= figures["at_rate_p99_ms"]
            assert figures["at_rate_transactions_per_complaint"] > 0
            # Idle: measured for both; either may spend too little to see in 2 s.
            assert all(figures[key] >= 0 for key in IDLE)
        for side in ("tousu", "peer"):
            idle = r["detail"][side]["idle"]
            assert idle["window_s"] >= 2 and idle["cpu_ms_per_s"] >= 0
        ratios = r["ratios_tousu_over_peer"]
        assert set(ratios) == SUMMARY
        assert all(ratios[key] is not None and ratios[key] > 0 for key in UNDER_LOAD)
        assert ratios["flat_out_complaints_per_s"] == round(
            r["tousu"]["flat_out_complaints_per_s"] / r["peer"]["flat_out_complaints_per_s"], 2
        )
        # Every complaint sent to the peer was routed, once: by what it printed and what it stored.
        assert r["detail"]["peer"]["front"] == "nats"
        once = r["detail"]["peer"]["exactly_once"]
        assert once["submitted"] > 0
        assert once["routed"] == once["submitted"] and once["routed_more_than_once"] == 0
        assert once["stored"] == {"events": once["submitted"], "assignments": once["submitted"]}
        for phase in r["detail"]["peer"]["phases"].values():
            assert phase["errors"] == phase["unfinished"] == 0 and phase["submitted"] > 0
            assert phase["latency_ms"]["routed"]["n"] == phase["submitted"]
        for phase in r["detail"]["tousu"]["phases"].values():
            assert phase["errors"] == 0 and phase["unfinished"] == 0
            # Each phase started once the one before had left a quiet stack.
            assert phase["settled_before_s"] >= 1
