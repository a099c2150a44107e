"""Recurring problems (热点诉求) end to end over the store: complaints received
in past weeks go through the complaint_terms projection; one place's
complaints tripling in a week over a flat history raises one alert however
often (and by however many watchers) it is looked for, and tops the list; a
flat history raises nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from openpyxl import load_workbook

from tests.helpers import project_everything, tousu
from tests.hotspot_scenario import PLACE, RULE, seed
from tests.kpi_scenario import H_ZHOU, SCRIPTS, Script, at, drive
from tests.web_kit import PASSWORD, add_user, gateway_client, sign_in
from tousu.services.metrics.hotspots.alerts import alert_stream
from tousu.services.metrics.hotspots.counts import counted_from_rows, counts, windows_for
from tousu.services.metrics.hotspots.surge import DIMENSIONS, window_of
from tousu.services.metrics.hotspots.views import hotspots, open_alerts
from tousu.services.metrics.hotspots.watcher import HotspotWatcher
from tousu.services.metrics.projections.complaint_terms import ComplaintTerms
from tousu.services.metrics.projections.rebuild import rebuild
from tousu.services.metrics.views import monthly_report
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.events import utcnow
from tousu.shared.events.types import Channel
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

# A Wednesday; the week runs from Monday 11-23.
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=TZ)
WEEK = window_of("week", NOW)
CALENDAR = WorkdayCalendar()


async def test_a_place_tripling_in_a_week_raises_one_alert_and_tops_the_list(
    settings: Settings, store: PostgresEventStore
) -> None:
    ours = await seed(store, NOW, this_week=9)
    await project_everything(store)
    watchers = [HotspotWatcher(store, RULE, clock=lambda: NOW) for _ in range(2)]
    # One rise, one alert: the words of those nine complaints (路灯, 不亮 ...)
    # rise with the place and add nothing.
    assert await watchers[0].sweep() == 1
    # Swept again, and by a second replica: nothing more.
    assert await watchers[0].sweep() == 0 and await watchers[1].sweep() == 0
    stream = alert_stream("location", PLACE, "week", WEEK.start)
    (alert,) = await store.read_stream(stream)
    assert alert.type == "HotspotAlertRaised" and alert.department == "supervision"
    assert alert.data["count"] == 9 and alert.data["baseline"] == 3.0
    assert sorted(alert.data["complaint_ids"]) == sorted(str(i) for i in ours)

    found = await hotspots(store.pool, period="week", at=NOW, rule=RULE, limit=20)
    top = found.of("location")[0]
    assert (top.key, top.count, top.baseline, top.surge, top.alerted) == (
        PLACE,
        9,
        3.0,
        True,
        True,
    )
    assert top.change == "up" and top.ratio == 3.0
    assert len(top.cases) == 5 and set(top.complaint_ids) <= set(ours)
    assert all(case.tracking_no for case in top.cases)
    # The buses stayed flat: listed, no surge, no alert.
    buses = [h for h in found.of("term") if h.key == "公交车"]
    assert buses and not buses[0].surge and not buses[0].alerted
    assert any(a.stream_id == stream for a in await open_alerts(store.pool, NOW))

    # The staff API: the supervisor's list as of that Wednesday; a department
    # head counts only what their department holds (none of these, unrouted).
    async with gateway_client(settings) as client:
        await add_user(store.pool, "sup", "supervisor")
        await add_user(store.pool, "head", "dept_head", department="water")
        query = {"period": "week", "at": "2026-11-25T15:00", "dimension": "location"}
        answer = await client.get(
            "/api/v1/hotspots", params=query, headers=await _bearer(client, "sup")
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["label"], body["period_start"], body["complete"]) == (
            "2026-W48",
            "2026-11-23",
            False,
        )
        first = body["items"][0]
        assert (first["key"], first["count"], first["surge"], first["alerted"]) == (
            PLACE,
            9,
            True,
            True,
        )
        assert first["cases"][0]["url"] == f"/staff/cases/{first['cases'][0]['complaint_id']}"
        head = await client.get(
            "/api/v1/hotspots", params=query, headers=await _bearer(client, "head")
        )
        assert head.json()["department"] == "water" and head.json()["items"] == []
        bad = await client.get(
            "/api/v1/hotspots", params={"at": "soon"}, headers=await _bearer(client, "sup")
        )
        assert bad.status_code == 422 and "query.at" in bad.text


async def test_the_command_line_and_the_monthly_report_list_them(
    settings: Settings, store: PostgresEventStore, child_env: dict[str, str], tmp_path: Path
) -> None:
    await seed(store, NOW, this_week=9)
    await project_everything(store)
    # The monthly workbook's 热点诉求 sheet: November, over (18 at the place
    # against October's 12: no hotspot).
    files = await monthly_report("2026-11", store.pool, tmp_path, language="zh-CN")
    sheet = load_workbook(files.workbook)["热点诉求"]
    assert str(sheet["A1"].value).startswith("热点诉求 2026-11")
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    assert rows[0][:4] == ["地点", PLACE, 18, 12] and rows[0][5] is None
    assert any(r[1] == "路灯" for r in rows) and all(r[7] for r in rows)
    args = ("hotspots", "--at", "2026-11-25T15:00", "--dimension", "location")
    code, out, err = await tousu(child_env, *args, "--format", "json")
    assert code == 0, err
    body = json.loads(out)
    assert body["label"] == "2026-W48" and body["complete"] is False
    assert [(i["key"], i["count"], i["surge"]) for i in body["items"]][:1] == [(PLACE, 9, True)]
    code, out, err = await tousu(child_env, *args)
    assert code == 0, err
    assert "热点诉求 2026-W48" in out and PLACE in out and "…" not in out


async def test_the_dashboards_list_this_week_and_a_department_head_their_own(
    settings: Settings, store: PostgresEventStore
) -> None:
    await seed(store, utcnow(), this_week=9)
    await project_everything(store)
    await add_user(store.pool, "sup", "supervisor")
    await add_user(store.pool, "head", "dept_head", department="water")
    async with gateway_client(settings) as client:
        assert (await sign_in(client, "sup")).status_code == 303
        page = (await client.get("/staff/dashboard")).text
        assert 'id="hotspots"' in page and PLACE in page and "上升 3.0 倍" in page
    async with gateway_client(settings) as client:
        assert (await sign_in(client, "head")).status_code == 303
        page = (await client.get("/staff/dashboard")).text
        # None of these complaints is water's: the lists are empty, no alerts shown.
        assert 'id="hotspots"' in page and PLACE not in page and "本期尚无投诉" in page


async def _bearer(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    answer = await client.post(
        "/api/v1/auth/token", json={"username": username, "password": PASSWORD}
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


async def _same_counts(store: PostgresEventStore) -> None:
    """The counts kept per week and month answer as counting the rows does:
    now, as of an instant inside a week, for each department, for none."""
    for period in ("week", "month"):
        for when in (
            NOW,
            NOW - timedelta(days=1, hours=3),
            datetime(2026, 10, 7, 9, 10, tzinfo=TZ),
        ):
            windows = windows_for(period, when, RULE, extra=1)
            for dimension in DIMENSIONS:
                for department in (None, "housing", "health", ""):
                    kept = await counts(store.pool, dimension, windows, when, department)
                    rows = await counted_from_rows(store.pool, dimension, windows, when, department)
                    assert {k: v for k, v in kept.by_key.items() if any(v)} == rows.by_key


async def test_the_kept_counts_equal_counting_the_rows_live_and_rebuilt(
    settings: Settings, store: PostgresEventStore
) -> None:
    await seed(store, NOW, this_week=9)
    # Whole lifecycles too (routed, returned and routed again, reopened ...):
    # the counts by department follow each case's moves.
    # ... and one returned (退单) and left for arbitration: no one's now.
    left = Script(90, Channel.PHONE).submit(at(11, 2))
    left.accept(at(11, 2, 11), "service_quality", "attitude").route("housing", at(11, 3))
    left.claim(H_ZHOU, at(11, 3, 11))
    await drive(store, [*SCRIPTS, left.give_back(at(11, 4))])
    await project_everything(store)
    housing = await counted_from_rows(
        store.pool, "term", windows_for("month", NOW, RULE), NOW, "housing"
    )
    assert housing.by_key  # the comparison below has a department's counts to compare
    # The department counted is the one holding the case, as the case list has
    # it (a returned case is no one's, whatever its return event's envelope says).
    differ = await store.pool.fetch(
        "SELECT t.complaint_id FROM complaint_terms t JOIN case_view c USING (complaint_id)"
        " WHERE t.department IS DISTINCT FROM c.department"
    )
    assert differ == []
    await _same_counts(store)
    found = await counts(store.pool, "location", windows_for("week", NOW, RULE), NOW)
    assert found.by_key[PLACE][-1] == 9
    async with store.pool.acquire() as conn:
        await rebuild(conn, store, ComplaintTerms(), lambda: CALENDAR)
    await _same_counts(store)


async def test_a_flat_history_raises_nothing(settings: Settings, store: PostgresEventStore) -> None:
    await seed(store, NOW, this_week=3)
    await project_everything(store)
    assert await HotspotWatcher(store, RULE, clock=lambda: NOW).sweep() == 0
    found = await hotspots(store.pool, period="week", at=NOW, rule=RULE)
    assert found.of("location")[0].count == 3
    assert not any(h.surge or h.alerted for h in found.items)
    assert await open_alerts(store.pool, NOW) == []
