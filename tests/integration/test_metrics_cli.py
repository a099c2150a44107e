"""`tousu metrics`, `tousu projections rebuild` and `tousu supervision overdue`,
run as the real command in a child process."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime

from tests.domain_kit import ReplayExecutor
from tests.helpers import REPO, project_everything, tousu
from tests.lifecycle import register
from tousu.shared.calendar import TZ
from tousu.shared.store.postgres import PostgresEventStore


async def test_metrics_as_json_csv_and_a_table(
    child_env: dict[str, str], cases: dict[str, uuid.UUID]
) -> None:
    query = ("--from", "2026-09", "--as-of", "2026-10-20", "--group-by", "department")
    code, out, err = await tousu(child_env, "metrics", *query, "--format", "json")
    assert code == 0, err
    body = json.loads(out)
    assert body["from"] == "2026-09-01T00:00:00+08:00"
    assert body["total"]["received"] == 3
    feedback = body["total"]["feedback_timeliness"]
    assert (feedback["numerator"], feedback["denominator"]) == (1, 2)
    assert [r["group"] for r in body["rows"]] == ["transport", "water", None]

    code, out, err = await tousu(child_env, "metrics", *query, "--format", "csv")
    assert code == 0, err
    lines = list(csv.DictReader(io.StringIO(out)))
    assert [line["group"] for line in lines] == ["transport", "water", "", "合计"]
    assert lines[-1]["feedback_timeliness_numerator"] == "1"
    assert lines[-1]["feedback_timeliness_value"] == "0.5000"

    code, out, err = await tousu(child_env, "metrics", *query)
    assert code == 0, err
    assert "及时率" in out and "50.0% (1/2)" in out and "合计" in out


async def test_metrics_refuses_a_bad_period(child_env: dict[str, str]) -> None:
    code, _, err = await tousu(child_env, "metrics", "--from", "Sept")
    assert code == 2 and "Sept" in err


async def test_rebuild_from_the_command_line(
    child_env: dict[str, str], cases: dict[str, uuid.UUID], store: PostgresEventStore
) -> None:
    before = await store.pool.fetch("SELECT * FROM kpi_facts ORDER BY complaint_id, valid_from")
    code, out, err = await tousu(child_env, "projections", "rebuild", "kpi_facts")
    assert code == 0, err
    assert "kpi_facts" in out and "case_view" not in out
    after = await store.pool.fetch("SELECT * FROM kpi_facts ORDER BY complaint_id, valid_from")
    assert [tuple(r) for r in after] == [tuple(r) for r in before]
    rebuilt = await store.pool.fetchval(
        "SELECT rebuilt_at IS NOT NULL FROM projection_state WHERE name = 'kpi_facts'"
    )
    assert rebuilt is True
    code, _, err = await tousu(child_env, "projections", "rebuild", "nope")
    assert code == 2 and "case_view" in err
    await project_everything(store)  # the runner goes on from the rebuilt position


async def test_overdue_from_the_command_line(
    child_env: dict[str, str], cases: dict[str, uuid.UUID]
) -> None:
    code, out, err = await tousu(child_env, "supervision", "overdue", "--format", "json")
    assert code == 0, err
    items = json.loads(out)
    assert {(i["complaint_id"], i["deadline"]) for i in items} == {
        (str(cases["undecided"]), "acceptance"),
        (str(cases["late"]), "feedback"),
        (str(cases["answered"]), "follow_up"),
    }
    code, out, err = await tousu(child_env, "supervision", "overdue", "--department", "transport")
    assert code == 0, err
    assert "TS-2026-000002" in out and "反馈期限" in out and "TS-2026-000001" not in out


async def test_calendar_import_names_the_cases_to_recalculate(
    child_env: dict[str, str], store: PostgresEventStore
) -> None:
    executor = ReplayExecutor(store)
    await register(executor, datetime(2027, 1, 27, 10, tzinfo=TZ), 1)  # provisional 2027
    await register(executor, datetime(2026, 9, 14, 10, tzinfo=TZ), 2)  # firm 2026
    await project_everything(store)
    example = REPO / "shared/calendar/data/example-2027.yaml"
    code, out, err = await tousu(child_env, "calendar", "import", str(example))
    assert code == 0, err
    assert "1 open case(s) have provisional deadlines" in out
