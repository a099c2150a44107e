"""A department's own system built on the kit alone
(docs/examples/department_system.py), run as the outside program it is: it
follows the water department's cases with the department's credential and
works each one — claims it for a handler, reports progress, records the
steps, feeds the result back — across a restart of itself and of tousu;
each case reaches it once. Another department's credential reads and
changes none of them, and its consumer has none of their events."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from nats.aio.client import Client as NatsClient

from tests.e2e.kit import OPERATOR, Commands
from tests.e2e.kit_processes import example_env, start_example
from tests.helpers import eventually
from tests.processes import NATS_SERVICES, request, spawn, stop, stop_all, wait_until_answering
from tousu.kit import Refused
from tousu.kit.department import DepartmentClient
from tousu.shared.application.credentials import credential_key, issue
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

# accepted → relay → routing → relay → the department's system → its steps.
WORKED = 60.0


class Tousu:
    """The relay and every NATS service, stopped and started as a deploy would."""

    def __init__(self, env: dict[str, str], settings: Settings, nc: NatsClient, logs: Path):
        self.env, self.settings, self.nc, self.logs = env, settings, nc, logs
        self.procs: list[subprocess.Popen[bytes]] = []

    async def start(self) -> None:
        self.procs = [spawn(name, self.env, self.logs) for name in ("relay", *NATS_SERVICES)]
        deadline = time.monotonic() + 60
        for name in NATS_SERVICES:
            await wait_until_answering(self.nc, self.settings.naming, name, deadline)

    def stop(self) -> None:
        stop_all(self.procs)


async def a_water_complaint(nc: NatsClient, settings: Settings, n: int) -> str:
    """Registered by an operator and accepted: the rules route it to water (停水)."""
    submitted = await request(
        nc,
        settings.naming.command("intake", "submit"),
        {
            "submission": {
                "channel": "phone",
                "complainant": {"name": "张三", "phone": f"1380000{n:04d}"},
                "subject": f"小区停水未通知 {n}",
                "description": "小区连续两天停水，供水公司未提前公告。",
                "location": "人民路12号",
            },
            "actor": OPERATOR,
        },
    )
    assert submitted["ok"], submitted
    complaint_id = submitted["result"]["complaint_id"]
    cmd = Commands(nc, settings, complaint_id)
    assert await cmd.ok("intake", "accept", OPERATOR, category="service_quality") == "accepted"
    return str(complaint_id)


async def state_of(store: PostgresEventStore, complaint_id: str) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json") for e in await store.read_stream(f"complaint-{complaint_id}")]


def handled(output: Path) -> list[dict[str, Any]]:
    lines = [json.loads(x) for x in output.read_text(encoding="utf-8").splitlines() if x]
    return [x for x in lines if "event" in x]


async def test_the_example_follows_its_cases_across_restarts_of_itself_and_of_tousu(
    water_handler: dict[str, str],
    child_env: dict[str, str],
    settings: Settings,
    nats_client: NatsClient,
    store: PostgresEventStore,
    tmp_path: Path,
) -> None:
    key = credential_key(settings)
    env = example_env(
        child_env,
        TOUSU_NATS_URL=str(settings.nats_url),
        TOUSU_SUBJECT_ROOT=settings.subject_root,
        TOUSU_CREDENTIAL=issue(key, "department", "water"),
        TOUSU_DEPARTMENT="water",
        TOUSU_HANDLER=water_handler["id"],
    )
    output = tmp_path / "department.out"
    tousu = Tousu(child_env, settings, nats_client, tmp_path)
    department = None
    cases: list[str] = []

    async def fed_back(complaint_id: str) -> bool:
        events = await state_of(store, complaint_id)
        return any(e["type"] == "ResultFeedbackSent" for e in events)

    try:
        await tousu.start()
        department = start_example("department_system.py", env, output, tmp_path)
        cases.append(await a_water_complaint(nats_client, settings, 1))
        await eventually(lambda: fed_back(cases[0]), "the first case worked", WORKED)

        # The department's system stops; a case is routed meanwhile; tousu restarts.
        assert stop(department) == 0
        cases.append(await a_water_complaint(nats_client, settings, 2))

        async def routed() -> bool:
            return any(e["type"] == "ComplaintRouted" for e in await state_of(store, cases[1]))

        await eventually(routed, "the second case routed while nobody follows", WORKED)
        tousu.stop()
        await tousu.start()
        department = start_example("department_system.py", env, output, tmp_path)
        await eventually(lambda: fed_back(cases[1]), "the case routed while it was away", WORKED)
        cases.append(await a_water_complaint(nats_client, settings, 3))
        await eventually(lambda: fed_back(cases[2]), "a case after both restarts", WORKED)
        assert stop(department) == 0
        await another_department_sees_none_of_it(settings, cases[2])
    except AssertionError as failed:
        shown = output.read_text(encoding="utf-8") if output.exists() else "(no output)"
        raise AssertionError(f"{failed}\nthe department system said:\n{shown}") from None
    finally:
        if department is not None:
            stop(department)
        tousu.stop()

    lines = handled(output)
    # Each case reached the system once, and no event was handled twice.
    routed_to_it = [x["complaint_id"] for x in lines if x["event"] == "ComplaintRouted"]
    assert sorted(routed_to_it) == sorted(cases)
    assert len({x["event_id"] for x in lines}) == len(lines)
    assert not [x for x in lines if "refused" in x]
    latencies = []
    for complaint_id in cases:
        events = await state_of(store, complaint_id)
        claimed = next(e for e in events if e["type"] == "CaseClaimed")
        # Claimed by the department's system, for the handler it names.
        assert claimed["actor"] == {
            "id": "dept-system:water",
            "role": "handler",
            "department": "water",
        }
        assert claimed["data"]["handler"] == water_handler["id"]
        types = [e["type"] for e in events]
        for step in ("ProgressReported", "InvestigationRecorded", "ComplaintResolved"):
            assert types.count(step) == 1, types
        routed_event = next(e for e in events if e["type"] == "ComplaintRouted")
        line = next(
            x
            for x in lines
            if x["event"] == "ComplaintRouted" and x["complaint_id"] == complaint_id
        )
        stored = datetime.fromisoformat(routed_event["recorded_at"])
        published = datetime.fromisoformat(line["published_at"])
        arrived = datetime.fromisoformat(line["arrived_at"])
        latencies.append(
            ((published - stored).total_seconds(), (arrived - published).total_seconds())
        )
    # Routed while the system was away: it waited; the others, a moment.
    print(f"stored -> published, published -> the system's handler (s): {latencies}")
    assert sum(latencies[2]) < 5.0


async def another_department_sees_none_of_it(settings: Settings, complaint_id: str) -> None:
    """Water's case through the kit: water reads it; transport's credential
    neither reads nor claims it, and transport's consumer has nothing of it."""
    key = credential_key(settings)
    url, root = str(settings.nats_url), settings.subject_root
    water_credential = issue(key, "department", "water")
    # A consumer of its own, from the stream's start, beside the example's.
    async with DepartmentClient(url, water_credential, "water", root, "water-check") as water:
        facts = await water.case(complaint_id)
        assert facts["department"] == "water"
        assert facts["description"] == "小区连续两天停水，供水公司未提前公告。"
        assert facts["location"] == "人民路12号"
        assert "complainant" not in facts
        assert await water.backlog() > 0
        # Water's credential acts as water's system, whoever the message names.
        someone = {"id": "h-zhao", "role": "handler", "department": "water"}
        with pytest.raises(Refused) as forged:
            await water.send(
                "handling", "progress", complaint_id, {"progress": "x", "actor": someone}
            )
        assert forged.value.code == "forged_actor"
    transport_credential = issue(key, "department", "transport")
    async with DepartmentClient(url, transport_credential, "transport", root) as transport:
        with pytest.raises(Refused) as read:
            await transport.case(complaint_id)
        assert read.value.code == "not_found"
        with pytest.raises(Refused) as claimed:
            await transport.claim(complaint_id, handler="h-qian")
        assert claimed.value.code == "not_found"
        # Counted as water's was: water's events are not on its subjects.
        assert await transport.backlog() == 0
