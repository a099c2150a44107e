"""The staff web pages' core: signing in and out, the role redirects and the 403
page, the case page and the department workbench, on a real PostgreSQL with
the gateway in-process (the action forms, which need the services, are in
tests/browser/test_handler_journey.py)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta

import asyncpg
import httpx
import pytest

from tests.domain_kit import HANDLER, OPERATOR, OTHER_HANDLER, ReplayExecutor
from tests.helpers import project_everything
from tests.web_kit import PASSWORD, add_user, gateway_client, hidden, sign_in
from tousu.services.gateway.auth import StaffRole
from tousu.services.gateway.auth import repository as repo
from tousu.services.gateway.web.staff.cases import deadline_colour
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext
from tousu.shared.events import utcnow
from tousu.shared.events.types import Channel, Complainant
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

CALENDAR = WorkdayCalendar()
EVIL = "<script>alert('x')</script>"


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as c:
        yield c


def csrf_of(page: httpx.Response) -> str:
    return hidden(page.text, "csrf_token")


# -- sign-in ------------------------------------------------------------------


async def test_sign_in_wrong_then_right(client: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await add_user(pool, "h-zhao", "handler", "water")
    await add_user(pool, "gone", "handler", "water")
    await repo.disable_user(pool, "gone")

    wrong = await sign_in(client, "h-zhao", "not the password")
    unknown = await sign_in(client, "nobody", PASSWORD)
    disabled = await sign_in(client, "gone", PASSWORD)
    for response in (wrong, unknown, disabled):
        assert response.status_code == 422
        assert "用户名或密码错误" in response.text
        assert "tousu_session" not in response.headers.get("set-cookie", "")
    assert 'value="h-zhao"' in wrong.text  # the username is kept, the password not

    right = await sign_in(client, "h-zhao")
    assert right.status_code == 303
    assert right.headers["location"] == "/staff/queue"
    cookie = right.headers["set-cookie"].lower()
    assert "tousu_session=" in cookie
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/staff" in cookie
    # One "web session" token of 10 hours.
    user = await repo.get_user(pool, "h-zhao")
    assert user is not None
    tokens = await repo.list_tokens(pool, user.id)
    assert [t.name for t in tokens] == ["web session"]
    lifetime = tokens[0].expires_at - tokens[0].created_at
    assert timedelta(hours=9, minutes=59) < lifetime <= timedelta(hours=10)

    home = await client.get("/staff")
    assert home.status_code == 303 and home.headers["location"] == "/staff/queue"
    queue = await client.get("/staff/queue")
    assert queue.status_code == 200
    assert "H-Zhao" in queue.text and "承办人" in queue.text  # name and role
    assert "no-store" in queue.headers["cache-control"]

    # Signing out revokes the token: the old cookie does not work any more.
    old = client.cookies.get("tousu_session")
    out = await client.post("/staff/logout", data={"csrf_token": csrf_of(queue)})
    assert out.status_code == 303 and out.headers["location"].startswith("/staff/login")
    assert client.cookies.get("tousu_session") is None
    assert (await repo.list_tokens(pool, user.id))[0].revoked_at is not None
    client.cookies.set("tousu_session", old or "", path="/staff")
    again = await client.get("/staff/queue")
    assert again.status_code == 303


async def test_forms_without_the_csrf_token_are_refused(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await add_user(pool, "h-zhao", "handler", "water")
    await client.get("/staff/login")  # the CSRF cookie, but no field
    response = await client.post("/staff/login", data={"username": "h-zhao", "password": PASSWORD})
    assert response.status_code == 403
    assert "tousu_session" not in response.headers.get("set-cookie", "")
    forged = await client.post(
        "/staff/login",
        data={"username": "h-zhao", "password": PASSWORD, "csrf_token": "made.up.token"},
    )
    assert forged.status_code == 403

    # Signed in, a sign-out without the token leaves the session alone.
    assert (await sign_in(client, "h-zhao")).status_code == 303
    out = await client.post("/staff/logout", data={})
    assert out.status_code == 303
    assert (await client.get("/staff/queue")).status_code == 200


async def test_pages_send_strangers_to_sign_in_and_back(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await add_user(pool, "dh-qian", "dept_head", "water")
    wanted = "/staff/queue?department=water"
    response = await client.get(wanted)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=/staff/queue%3Fdepartment%3Dwater"
    page = await client.get(response.headers["location"])
    assert 'name="next" value="/staff/queue?department=water"' in page.text

    back = await sign_in(client, "dh-qian", next_path=wanted)
    assert back.status_code == 303 and back.headers["location"] == wanted

    # Only a staff page of this site is a place to go back to.
    for elsewhere in ("https://evil.example/", "//evil.example/staff", "/staffing", "/"):
        client.cookies.clear()
        gone = await sign_in(client, "dh-qian", next_path=elsewhere)
        assert gone.headers["location"] == "/staff/queue", elsewhere


@pytest.mark.parametrize(
    ("role", "department", "home"),
    [
        ("operator", None, "/staff/intake"),
        ("handler", "water", "/staff/queue"),
        ("dept_head", "water", "/staff/queue"),
        ("supervisor", None, "/staff/dashboard"),
        ("admin", None, "/staff/dashboard"),
    ],
)
async def test_each_role_starts_on_its_page(
    client: httpx.AsyncClient,
    pool: asyncpg.Pool,
    role: StaffRole,
    department: str | None,
    home: str,
) -> None:
    await add_user(pool, "someone", role, department)
    signed_in = await sign_in(client, "someone")
    assert signed_in.headers["location"] == home
    response = await client.get("/staff")
    assert response.status_code == 303 and response.headers["location"] == home


async def test_a_role_that_may_not_gets_the_403_page(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await add_user(pool, "op-li", "operator")
    await sign_in(client, "op-li")
    response = await client.get("/staff/queue")
    assert response.status_code == 403
    assert "text/html" in response.headers["content-type"]
    assert "您的角色无权打开此页面" in response.text
    assert 'href="/staff/intake"' in response.text  # the operator's own menu
    assert 'href="/staff/queue"' not in response.text
    english = await client.get("/staff/queue?lang=en")
    assert "Your role may not open this page." in english.text


# -- cases --------------------------------------------------------------------


def previous_workday_at_ten() -> datetime:
    day = CALENDAR.previous_workday(utcnow().astimezone(TZ).date())
    return datetime.combine(day, time(10), tzinfo=TZ)


async def file_cases(store: PostgresEventStore) -> dict[str, uuid.UUID]:
    """water: one routed long ago (red), one routed on the last working day
    (yellow: its claim is due today or on the next working day), one in
    handling since just now (green); transport: one routed."""
    now = utcnow()
    # A history set in the past, each step recorded as it happened.
    executor = ReplayExecutor(store, lambda: DecisionContext(calendar=CALENDAR, now=utcnow()))

    async def case(
        n: int, received: datetime, department: str, *, claim: bool = False, text: str = "路灯不亮"
    ) -> uuid.UUID:
        cid = uuid.uuid4()
        await executor.execute(
            cid,
            c.SubmitComplaint(
                actor=OPERATOR,
                occurred_at=received,
                channel=Channel.PHONE,
                tracking_no=f"TS-2026-{n:06d}",
                complainant=Complainant(name="王五", phone="13700000000"),
                subject=f"投诉 {n}",
                description=text,
            ),
        )
        await executor.execute(
            cid,
            c.AcceptComplaint(
                actor=OPERATOR,
                occurred_at=received + timedelta(minutes=1),
                category="service_quality",
            ),
        )
        await executor.execute(
            cid,
            c.RouteComplaint(
                actor=OPERATOR, occurred_at=received + timedelta(minutes=2), department=department
            ),
        )
        if claim:
            actor = HANDLER if department == "water" else OTHER_HANDLER
            await executor.execute(
                cid, c.ClaimCase(actor=actor, occurred_at=received + timedelta(minutes=3))
            )
        return cid

    cases = {
        "red": await case(1, datetime(2026, 3, 2, 9, tzinfo=TZ), "water", text=EVIL),
        "yellow": await case(2, previous_workday_at_ten(), "water"),
        "green": await case(3, now - timedelta(minutes=10), "water", claim=True),
        "other": await case(4, now - timedelta(minutes=10), "transport"),
    }
    await project_everything(store)
    return cases


def test_deadline_colours() -> None:
    due = datetime(2026, 10, 15, 23, 59, 59, tzinfo=TZ)  # a Thursday
    assert deadline_colour(due, datetime(2026, 10, 13, 12, tzinfo=TZ), CALENDAR) == "green"
    assert deadline_colour(due, datetime(2026, 10, 14, 23, 59, tzinfo=TZ), CALENDAR) == "green"
    # From the end of Wednesday on, the last working day before it has begun.
    assert deadline_colour(due, datetime(2026, 10, 15, 0, 0, 1, tzinfo=TZ), CALENDAR) == "yellow"
    assert deadline_colour(due, datetime(2026, 10, 15, 9, tzinfo=TZ), CALENDAR) == "yellow"
    assert deadline_colour(due, datetime(2026, 10, 16, 0, 0, 1, tzinfo=TZ), CALENDAR) == "red"
    # Before the National Day holiday the warning comes days ahead.
    after_holiday = datetime(2026, 10, 8, 23, 59, 59, tzinfo=TZ)
    assert deadline_colour(after_holiday, datetime(2026, 10, 2, tzinfo=TZ), CALENDAR) == "yellow"


async def test_the_case_page_shows_the_whole_case(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    cases = await file_cases(store)
    await add_user(pool, "h-zhao", "handler", "water")
    await sign_in(client, "h-zhao")

    page = await client.get(f"/staff/cases/{cases['red']}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "TS-2026-000001" in html
    assert "已转办，待签收" in html  # the status
    # Not the handler the case is assigned to (none yet): the contact masked.
    assert "137****0000" in html and "王*" in html and "13700000000" not in html
    # The complaint's text is shown as text, never run.
    assert EVIL not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    # Deadlines: the claim is owed and overdue; acceptance was met in time.
    assert "签收期限" in html and "badge-red" in html and "已超期" in html
    assert "受理期限" in html and "按期完成" in html
    assert "受理告知书承诺的反馈日期" in html
    # The timeline: every step, who did it.
    for label in ("登记投诉", "受理", "转办"):
        assert label in html
    assert "op-li" in html
    # The actions a handler may take on a routed case: claim or return, nothing else.
    assert f'action="/staff/cases/{cases["red"]}/claim"' in html
    assert f'action="/staff/cases/{cases["red"]}/return"' in html
    assert "/resolve" not in html and "/feedback" not in html
    english = await client.get(f"/staff/cases/{cases['red']}?lang=en")
    assert "routed, awaiting claim" in english.text.lower()
    assert "Complete timeline" in english.text

    # The acceptance notice, as a PDF behind the session.
    link = re.search(rf'href="(/staff/cases/{cases["red"]}/notices/[0-9a-f-]+\.pdf)"', html)
    assert link
    pdf = await client.get(link.group(1))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    client.cookies.clear()
    assert (await client.get(link.group(1))).status_code == 303  # signed out: sign in first


async def test_a_department_sees_its_own_cases_only(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    cases = await file_cases(store)
    await add_user(pool, "h-zhao", "handler", "water")
    await sign_in(client, "h-zhao")

    other = await client.get(f"/staff/cases/{cases['other']}")
    nothing = await client.get(f"/staff/cases/{uuid.uuid4()}")
    assert other.status_code == nothing.status_code == 404
    assert "TS-2026-000004" not in other.text
    # Nor act on it.
    page = await client.get(f"/staff/cases/{cases['green']}")
    claim = await client.post(
        f"/staff/cases/{cases['other']}/claim", data={"csrf_token": csrf_of(page)}
    )
    assert claim.status_code == 404

    queue = await client.get("/staff/queue")
    assert queue.status_code == 200
    html = queue.text
    assert "TS-2026-000004" not in html
    rows = dict(re.findall(r'<tr class="queue-row row-(\w+)" data-tracking-no="([^"]+)"', html))
    assert {v: k for k, v in rows.items()} == {
        "TS-2026-000001": "red",
        "TS-2026-000002": "yellow",
        "TS-2026-000003": "green",
    }
    # Routed ones have a claim button, the one in handling not.
    assert f'action="/staff/cases/{cases["red"]}/claim"' in html
    assert f'action="/staff/cases/{cases["yellow"]}/claim"' in html
    assert f'action="/staff/cases/{cases["green"]}/claim"' not in html
    assert f'href="/staff/cases/{cases["green"]}"' in html


async def test_supervision_chooses_the_department(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    await file_cases(store)
    await add_user(pool, "sup-wang", "supervisor")
    await sign_in(client, "sup-wang")
    everything = await client.get("/staff/queue")
    assert "TS-2026-000001" in everything.text and "TS-2026-000004" in everything.text
    transport = await client.get("/staff/queue?department=transport")
    assert "TS-2026-000004" in transport.text and "TS-2026-000001" not in transport.text
    # A handler's ?department= changes nothing.
    client.cookies.clear()
    await add_user(pool, "h-zhao", "handler", "water")
    await sign_in(client, "h-zhao")
    mine = await client.get("/staff/queue?department=transport")
    assert "TS-2026-000004" not in mine.text and "TS-2026-000001" in mine.text
