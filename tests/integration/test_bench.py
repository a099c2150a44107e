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
