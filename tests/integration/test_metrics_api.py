"""``GET /api/v1/kpis`` and ``GET /api/v1/supervision/overdue`` on the real
projections: figures, scoping by department, and clear errors."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.lifecycle import Headers, staff_tokens
from tousu.services.gateway.app import create_app
from tousu.services.gateway.auth import StaffRole
from tousu.shared.settings import Settings


@pytest.fixture
async def staff(database_url: str) -> dict[str, Headers]:
    people: list[tuple[str, StaffRole, str | None]] = [
        ("op-li", "operator", None),
        ("h-qian", "handler", "transport"),
        ("dh-zhao", "dept_head", "water"),
        ("sup-wang", "supervisor", None),
    ]
    return await staff_tokens(database_url, people, **{"Accept-Language": "en"})


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as c:
            yield c


def pair(rate: dict[str, Any]) -> tuple[int, int]:
    return rate["numerator"], rate["denominator"]


async def test_kpis_by_department_as_of_two_instants(
    client: httpx.AsyncClient, staff: dict[str, Headers], cases: dict[str, uuid.UUID]
) -> None:
    query = {"from": "2026-09", "group_by": "department", "as_of": "2026-10-10T12:00"}
    early = await client.get("/api/v1/kpis", params=query, headers=staff["sup-wang"])
    assert early.status_code == 200, early.text
    body = early.json()
    assert body["from"].startswith("2026-09-01T00:00:00+08:00")
    assert body["to"].startswith("2026-10-01T00:00:00+08:00")
    total = body["total"]
    assert (total["received"], total["accepted"], total["fed_back"]) == (3, 2, 1)
    # The undecided one is past its acceptance deadline: decided 2 of 3, in time 2.
    assert pair(total["acceptance_timeliness"]) == (2, 3)
    # On 10-10 only the answered one counts for 及时率 (the other is not yet due).
    assert pair(total["feedback_timeliness"]) == (1, 1)
    assert total["overdue_now"] == 1
    assert [r["group"] for r in body["rows"]] == ["transport", "water", None]

    query["as_of"] = "2026-10-20"
    later = (await client.get("/api/v1/kpis", params=query, headers=staff["sup-wang"])).json()
    assert pair(later["total"]["feedback_timeliness"]) == (1, 2)
    assert pair(later["total"]["closure_rate"]) == (1, 2)
    assert later["total"]["overdue_now"] == 2
    transport = later["rows"][0]
    assert (transport["group"], pair(transport["feedback_timeliness"])) == ("transport", (0, 1))
    assert later["total"]["avg_handling_working_days"] == pytest.approx(
        13.0
    )  # 09-16..18, 09-20, 09-21..24, 09-28..30, 10-08, 10-09


async def test_a_department_head_sees_their_department_only(
    client: httpx.AsyncClient, staff: dict[str, Headers], cases: dict[str, uuid.UUID]
) -> None:
    query = {"from": "2026-09", "as_of": "2026-10-20", "group_by": "department"}
    body = (await client.get("/api/v1/kpis", params=query, headers=staff["dh-zhao"])).json()
    assert body["department"] == "water", body
    assert body["total"]["received"] == 1
    assert [r["group"] for r in body["rows"]] == ["water"]
    refused = await client.get("/api/v1/kpis", headers=staff["op-li"])
    assert refused.status_code == 403


async def test_bad_periods_are_422_naming_the_field(
    client: httpx.AsyncClient, staff: dict[str, Headers]
) -> None:
    bad = await client.get("/api/v1/kpis", params={"from": "Sept"}, headers=staff["sup-wang"])
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.from"
    backwards = await client.get(
        "/api/v1/kpis", params={"from": "2026-10-01", "to": "2026-09-01"}, headers=staff["sup-wang"]
    )
    assert backwards.status_code == 422
    grouping = await client.get(
        "/api/v1/kpis", params={"group_by": "colour"}, headers=staff["sup-wang"]
    )
    assert grouping.status_code == 422


async def test_overdue_list_with_working_days_and_scoping(
    client: httpx.AsyncClient, staff: dict[str, Headers], cases: dict[str, uuid.UUID]
) -> None:
    body = (await client.get("/api/v1/supervision/overdue", headers=staff["sup-wang"])).json()
    items = {(i["complaint_id"], i["deadline"]): i for i in body["items"]}
    assert set(items) == {
        (str(cases["undecided"]), "acceptance"),
        (str(cases["late"]), "feedback"),
        # Fed back on 10-09: the follow-up (回访) was due 3 working days later.
        (str(cases["answered"]), "follow_up"),
    }
    assert body["items"][0]["deadline"] == "acceptance"  # the longest late first
    feedback = items[(str(cases["late"]), "feedback")]
    assert feedback["deadline_label"] == "feedback deadline"
    assert feedback["due_at"].startswith("2026-10-12T23:59:59")
    assert feedback["working_days_late"] > 20 and feedback["supervised"] is False
    mine = (await client.get("/api/v1/supervision/overdue", headers=staff["h-qian"])).json()
    assert [i["complaint_id"] for i in mine["items"]] == [str(cases["late"])]
    assert (
        await client.get("/api/v1/supervision/overdue", headers=staff["op-li"])
    ).status_code == 403
