"""The intake console and the supervisor dashboard, signed in through the web
login, on a handful of scripted complaints: what the pages show (deadline
colours, the notice preview, KPI cards, the overdue list), the monthly report
download and who may open what. The gateway runs in-process; the action POSTs
need the services and are in tests/browser/test_operator_and_supervisor.py."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import asyncpg
import httpx
import pytest

from tests.domain_kit import OPERATOR, ReplayExecutor
from tests.helpers import project_everything
from tests.lifecycle import register
from tests.web_kit import add_user, gateway_client, hidden, sign_in
from tousu.services.gateway.auth import StaffRole
from tousu.services.gateway.web.staff.intake import deadline_colour
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext
from tousu.shared.events import utcnow
from tousu.shared.intake.notices import format_date
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as c:
        yield c


@pytest.fixture
async def users(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        people: list[tuple[str, StaffRole]] = [("op-li", "operator"), ("sup-wang", "supervisor")]
        for username, role in people:
            await add_user(conn, username, role)
    finally:
        await conn.close()


async def signed_in(client: httpx.AsyncClient, username: str) -> None:
    signed = await sign_in(client, username)
    assert signed.status_code == 303, signed.text
    assert client.cookies.get("tousu_session")


@pytest.fixture
async def cases(store: PostgresEventStore) -> dict[str, uuid.UUID]:
    """This month: one accepted, one rejected, one waiting (all in time); and one
    received 40 days ago and never decided (overdue, another month's cohort)."""
    # A history set in the past, each step recorded as it happened.
    executor = ReplayExecutor(
        store, lambda: DecisionContext(calendar=WorkdayCalendar(), now=utcnow())
    )
    now = utcnow()
    # Within this month unless the test runs in its first minutes.
    month_start = now.astimezone(TZ).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    early = max(now - timedelta(minutes=10), month_start + timedelta(seconds=1))

    def at(minutes: int) -> datetime:
        return early + timedelta(seconds=minutes)

    accept = (at(4), c.AcceptComplaint, OPERATOR, {"category": "service_quality"})
    reject = (
        at(5),
        c.RejectComplaint,
        OPERATOR,
        {"reason": "不属于受理范围", "suggestion": "请向法院起诉"},
    )
    out = {
        "accepted": await register(executor, at(1), 1, accept),
        "rejected": await register(executor, at(2), 2, reject),
        "waiting": await register(executor, at(3), 3),
        "old": await register(executor, now - timedelta(days=40), 4),
    }
    await project_everything(store)
    return out


async def test_the_intake_list_shows_received_cases_oldest_first_with_colours(
    client: httpx.AsyncClient, users: None, cases: dict[str, uuid.UUID]
) -> None:
    await signed_in(client, "op-li")
    page = await client.get("/staff/intake")
    assert page.status_code == 200, page.text
    html = page.text
    assert "TS-2026-000003" in html and "TS-2026-000004" in html
    # Accepted and rejected complaints no longer wait.
    assert "TS-2026-000001" not in html and "TS-2026-000002" not in html
    assert html.index("TS-2026-000004") < html.index("TS-2026-000003")  # oldest first
    colours = re.findall(r'data-colour="(\w+)"', html)
    assert colours == ["red", "green"]
    assert 'href="/staff/intake/' + str(cases["waiting"]) + '"' in html


def test_the_deadline_colours() -> None:
    calendar = WorkdayCalendar()
    due = datetime(2026, 11, 30, 23, 59, 59, tzinfo=TZ)  # the end of Monday
    assert deadline_colour(due, datetime(2026, 11, 27, 12, tzinfo=TZ), calendar) == "green"
    # The warning comes at the end of the working day before: Friday evening.
    assert deadline_colour(due, datetime(2026, 11, 28, 12, tzinfo=TZ), calendar) == "amber"
    assert deadline_colour(due, datetime(2026, 12, 1, 0, 1, tzinfo=TZ), calendar) == "red"
    assert deadline_colour(None, datetime(2026, 12, 1, tzinfo=TZ), calendar) == "none"


async def test_the_verify_page_previews_the_acceptance_and_rejection_notices(
    client: httpx.AsyncClient, users: None, cases: dict[str, uuid.UUID]
) -> None:
    await signed_in(client, "op-li")
    url = f"/staff/intake/{cases['waiting']}"
    page = await client.get(url)
    assert page.status_code == 200, page.text
    assert "噪音扰民" in page.text and "工地夜间施工" in page.text and "13700000000" in page.text
    token = hidden(page.text, "csrf_token")

    missing = await client.post(f"{url}/preview", data={"csrf_token": token, "kind": ""})
    assert missing.status_code == 422
    assert 'id="kind-error"' in missing.text

    form = {"csrf_token": token, "kind": "service_quality/attitude", "note": "电话核实属实"}
    preview = await client.post(f"{url}/preview", data=form)
    assert preview.status_code == 200, preview.text
    notice = re.search(
        r'<pre class="desk-notice" id="accept-preview">(.*?)</pre>', preview.text, re.S
    )
    assert notice, preview.text
    assert "受理告知书" in notice.group(1) and "TS-2026-000003" in notice.group(1)
    # The confirmation carries what was previewed.
    assert 'name="kind" value="service_quality/attitude"' in preview.text
    assert f'action="{url}/accept"' in preview.text

    rejection = {"csrf_token": token, "reason": "不属于本单位职责", "suggestion": "请向区法院反映"}
    shown = await client.post(f"{url}/reject-preview", data=rejection)
    assert shown.status_code == 200, shown.text
    text = re.search(r'id="reject-preview">(.*?)</pre>', shown.text, re.S)
    assert text and "请向区法院反映" in text.group(1)
    # Dated under the signature, as the notice sent is (it was not).
    assert text.group(1).rstrip().endswith(format_date(utcnow(), "zh"))

    refused = await client.post(f"{url}/preview", data={**form, "csrf_token": "forged"})
    assert refused.status_code == 403


async def test_registering_shows_each_error_at_its_field(
    client: httpx.AsyncClient, users: None
) -> None:
    await signed_in(client, "op-li")
    page = await client.get("/staff/intake/new")
    assert page.status_code == 200, page.text
    assert 'name="received_at" value="' + utcnow().astimezone(TZ).strftime("%Y-%m-%d") in page.text
    form = {
        "csrf_token": hidden(page.text, "csrf_token"),
        "form_id": hidden(page.text, "form_id"),
        "channel": "letter",
        "received_at": hidden(page.text, "received_at"),
        "subject": "",
        "description": "来信反映窗口人员态度差",
    }
    sent = await client.post("/staff/intake/new", data=form)
    assert sent.status_code == 422, sent.text
    # A letter needs the sender's address; every complaint a subject.
    assert 'id="address-error"' in sent.text and 'id="subject-error"' in sent.text
    assert "来信反映窗口人员态度差" in sent.text  # what was typed stays


async def test_the_dashboard_shows_this_months_figures_and_the_overdue_list(
    client: httpx.AsyncClient, users: None, cases: dict[str, uuid.UUID]
) -> None:
    await signed_in(client, "sup-wang")
    page = await client.get("/staff/dashboard")
    assert page.status_code == 200, page.text
    html = page.text

    def card(name: str) -> str:
        found = re.search(
            rf'data-kpi="{name}">\s*<span class="kpi-label">[^<]*</span>\s*'
            r'<span class="kpi-value">([^<]*)</span>',
            html,
        )
        assert found, name
        return found.group(1)

    assert card("received") == "3"
    assert card("acceptance_timeliness") == "100.0%"  # both decisions in time
    assert card("feedback_timeliness") == "—"  # nothing fed back or due yet
    # The card counts what the list lists (the overdue one is last month's:
    # none of this month's, as its detail says).
    assert card("overdue_now") == "1"
    assert "其中本月受理 0 件" in html
    assert "受理及时率" in html and "满意率" in html
    assert html.count("<svg") == 3
    overdue = re.search(r'<table class="desk-table" id="overdue">(.*?)</table>', html, re.S)
    assert overdue, html
    assert "TS-2026-000004" in overdue.group(1) and "TS-2026-000003" not in overdue.group(1)
    assert f'href="/staff/cases/{cases["old"]}"' in overdue.group(1)


# A phone 375 px wide less the page's margins (1rem each side): a chart's room
# there (343 px measured in Chromium), and the smallest text read at arm's length.
PHONE_ROOM = 375 - 2 * 16
LEGIBLE_PX = 12


async def test_the_charts_are_legible_on_a_phone(
    client: httpx.AsyncClient, users: None, cases: dict[str, uuid.UUID]
) -> None:
    """An SVG chart is scaled down to its room, its text with it: drawn at
    font-size × room / viewBox width. The 650-unit charts drew their 13-unit
    labels at 7 px on a phone."""
    await signed_in(client, "sup-wang")
    html = (await client.get("/staff/dashboard")).text
    charts = re.findall(r'<svg[^>]*viewBox="0 0 (\d+) \d+"[^>]*>(.*?)</svg>', html, re.S)
    assert len(charts) == 3
    for width, body in charts:
        sizes = [int(size) for size in re.findall(r'font-size="(\d+)"', body)]
        assert sizes, body
        drawn = min(sizes) * min(1.0, PHONE_ROOM / int(width))
        assert drawn >= LEGIBLE_PX, f"chart {width} wide: text drawn at {drawn:.1f} px"
        assert "…" not in body  # the labels whole: each has the chart's width


async def test_the_monthly_report_is_an_xlsx(
    client: httpx.AsyncClient, users: None, cases: dict[str, uuid.UUID]
) -> None:
    await signed_in(client, "sup-wang")
    month = utcnow().astimezone(TZ).strftime("%Y-%m")
    report = await client.get(f"/staff/reports/monthly/{month}.xlsx")
    assert report.status_code == 200, report.text[:500]
    assert report.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert f"tousu-{month}.xlsx" in report.headers["content-disposition"]
    assert report.content[:2] == b"PK"  # a zip, as every XLSX is
    assert (await client.get("/staff/reports/monthly/2026-13.xlsx")).status_code == 404


async def test_operators_may_not_open_the_dashboard(client: httpx.AsyncClient, users: None) -> None:
    assert (await client.get("/staff/dashboard")).status_code == 303  # not signed in
    await signed_in(client, "op-li")
    assert (await client.get("/staff/dashboard")).status_code == 403
    month = utcnow().astimezone(TZ).strftime("%Y-%m")
    assert (await client.get(f"/staff/reports/monthly/{month}.xlsx")).status_code == 403
    assert (await client.get("/staff/intake")).status_code == 200
