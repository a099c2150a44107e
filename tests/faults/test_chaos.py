"""Fault injection: complaints driven through their whole lifecycle while each
service, the relay leader, nats-server and PostgreSQL are killed with SIGKILL
in turn and restarted (`tousu chaos` at a small size, with its own embedded
servers on spare ports: the machine's shared servers are never killed).

Afterwards every complaint is closed, no event is lost or duplicated (by id
or by effect), no notice is sent twice, the consumers have caught up and the
DLQ is empty; bench/chaos/audit.py defines each figure.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.chaos.audit import problems
from bench.chaos.kills import NATS, POSTGRES, RELAY_LEADER
from bench.chaos.run import SERVICES, ChaosConfig, run_chaos
from bench.chaos.table import chaos_table

COMPLAINTS = 400


@pytest.mark.embedded
async def test_every_complaint_closes_once_through_kills_of_every_server(tmp_path: Path) -> None:
    figures = await run_chaos(
        ChaosConfig(complaints=COMPLAINTS, in_flight=40, settle_timeout=90, keep=tmp_path)
    )
    text = json.dumps(figures, ensure_ascii=False, indent=1)
    (tmp_path / "figures.json").write_text(text, encoding="utf-8")
    print(text)
    for name, value in chaos_table(figures):
        print(f"{name:32} {value}")

    assert {k["target"] for k in figures["kills"]} == {*SERVICES, RELAY_LEADER, NATS, POSTGRES}
    assert figures["complaints"]["closed"] == COMPLAINTS
    assert figures["events"]["stored"] == figures["events"]["published"] >= 10 * COMPLAINTS
    assert figures["notifications"]["sms_handed_over"] > 0
    assert problems(figures) == [], (
        f"logs in {tmp_path}; still under way: {figures['unsettled_at_audit']}; "
        f"waited for: {figures['settle_waited_for']}; consumers: {figures['consumers']}"
    )
