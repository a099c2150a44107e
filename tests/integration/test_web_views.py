"""The staff pages' views for each role, on a real PostgreSQL with the gateway
in-process and a case seeded in each state: the department head's own
dashboard and the per-person KPIs (display names, not logins), what the
record holds shown on the case page, the workbench and the timeline, the
overdue card counting what the overdue list lists, and a link walker that
opens every link and GET form of every page each role can reach, and sends
each kind of POST form it finds without its CSRF token (docs/dashboards.md)."""

from __future__ import annotations

import re
import uuid
from collections import deque
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import asyncpg
import httpx
import pytest

from tests.domain_kit import HANDLER, OPERATOR, OTHER_HANDLER, SUPERVISOR, ReplayExecutor
from tests.helpers import project_everything
from tests.lifecycle import Step, register
from tests.web_kit import add_user, gateway_client, sign_in
from tousu.services.gateway.auth import StaffRole
from tousu.shared.calendar import TZ, WorkdayCalendar
from tousu.shared.domain import commands as c
from tousu.shared.domain.complaint import DecisionContext
from tousu.shared.events import utcnow
from tousu.shared.events.types import PlanMeasure
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

REQUIREMENTS = "三个工作日内联系投诉人并上门核实"
NOTE = "已电话核实投诉人身份与事发经过"
SUGGESTION = "请向市场监管部门反映"
EXTENSION_REASON = "需第三方检测"
APPROVAL_COMMENT = "同意延期，请按期反馈"

PEOPLE: list[tuple[str, StaffRole, str | None]] = [
    ("op-li", "operator", None),
    ("h-zhao", "handler", "water"),
    ("dh-qian", "dept_head", "water"),
    ("h-sun", "handler", "transport"),
    ("sup-wang", "supervisor", None),
    ("adm-ma", "admin", None),
]


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(settings) as c:
        yield c


async def seed(pool: asyncpg.Pool, store: PostgresEventStore) -> dict[str, uuid.UUID]:
    """The staff of every role, and a case in each state (all but one in
    water): steps a minute apart from two hours ago, and one routed 40 days
    ago and never claimed (overdue, another month's complaint unless it is
    the first days of a month)."""
    for username, role, department in PEOPLE:
        await add_user(pool, username, role, department)
    executor = ReplayExecutor(
        store, lambda: DecisionContext(calendar=WorkdayCalendar(), now=utcnow())
    )
    start = utcnow() - timedelta(hours=2)
    counter = iter(range(1, 1000))

    def steps(*names: str, department: str = "water") -> list[Step]:
        handler = HANDLER if department == "water" else OTHER_HANDLER
        plan = [PlanMeasure(measure="补发停水公告并致歉", owner=handler.id)]
        every: dict[str, tuple[type[c.Command], object, dict[str, object]]] = {
            "accept": (
                c.AcceptComplaint,
                OPERATOR,
                {
                    "category": "service_environment",
                    "subcategory": "order_safety",
                    "verification_note": NOTE,
                },
            ),
            "reject": (
                c.RejectComplaint,
                OPERATOR,
                {"reason": "不属于受理范围", "suggestion": SUGGESTION, "verification_note": NOTE},
            ),
            "route": (
                c.RouteComplaint,
                OPERATOR,
                {"department": department, "requirements": REQUIREMENTS},
            ),
            "claim": (c.ClaimCase, handler, {}),
            "return": (c.ReturnCase, handler, {"reason": "不属本部门职责", "basis": "三定方案"}),
            "investigate": (
                c.RecordInvestigation,
                handler,
                {"findings": "管网维修未提前公告", "methods": ["现场勘查"]},
            ),
            "plan": (c.ProposePlan, handler, {"measures": plan, "summary": "公告并致歉"}),
            "consult": (c.RecordConsultation, handler, {"agrees": True, "opinion": "同意方案"}),
            "extend": (
                c.RequestExtension,
                handler,
                {"working_days": 5, "reason": EXTENSION_REASON},
            ),
            "decide": (
                c.DecideExtension,
                SUPERVISOR,
                {"approved": True, "reason": APPROVAL_COMMENT},
            ),
            "resolve": (
                c.ResolveComplaint,
                handler,
                {"result": "已恢复供水并公开致歉", "basis": "《城市供水条例》"},
            ),
            "feedback": (c.SendFeedback, handler, {}),
            "follow_up": (c.RecordFollowUp, OPERATOR, {"satisfaction": "satisfied"}),
        }
        return [(start + timedelta(minutes=i + 1), *every[name]) for i, name in enumerate(names)]

    async def case(*names: str, at: datetime | None = None, department: str = "water") -> uuid.UUID:
        nonlocal start
        if at is not None:
            saved, start = start, at
        found = await register(
            executor, start, next(counter), *steps(*names, department=department)
        )
        if at is not None:
            start = saved
        return found

    handled = ("accept", "route", "claim", "investigate", "plan", "consult")
    cases = {
        "received": await case(),
        "rejected": await case("reject"),
        "routed": await case("accept", "route"),
        "claimed": await case("accept", "route", "claim"),
        "handling": await case(*handled),
        "extension": await case(*handled, "extend"),
        "extended": await case(*handled, "extend", "decide"),
        "resolved": await case(*handled, "resolve"),
        "fed_back": await case(*handled, "resolve", "feedback"),
        "closed": await case(*handled, "resolve", "feedback", "follow_up"),
        "returned": await case("accept", "route", "claim", "return"),
        "transport": await case("accept", "route", "claim", department="transport"),
        "late": await case(
            "accept",
            "route",
            at=datetime.combine(
                (utcnow() - timedelta(days=40)).astimezone(TZ).date(),
                datetime.min.time().replace(hour=10),
                tzinfo=TZ,
            ),
        ),
    }
    await project_everything(store)
    return cases


# -- the link walker -------------------------------------------------------------

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Redirects a page may answer with, on purpose: the staff home sends each role
# to its start page, the sign-in page a signed-in person too.
DOCUMENTED_REDIRECTS = {
    "/staff": "start page of the role",
    "/staff/login": "start page of the role",
}


class Links(HTMLParser):
    """The links (<a href>) and GET form actions of a page, with each GET
    form's default values (what a click on its button sends unchanged); and
    the actions of its POST forms."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.posts: list[str] = []
        self._form: tuple[str, dict[str, str]] | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.found.append(a["href"])
        elif tag == "form" and a.get("method", "get").lower() == "get":
            self._form = (a.get("action") or "", {})
        elif tag == "form" and a.get("method", "").lower() == "post" and a.get("action"):
            self.posts.append(a["action"])
        elif self._form is not None and tag == "input" and a.get("name"):
            if a.get("type") not in ("submit", "checkbox", "radio") or "checked" in a:
                self._form[1][a["name"]] = a.get("value", "")
        elif self._form is not None and tag == "select":
            self._select = a.get("name")
        elif self._form is not None and tag == "option" and self._select:
            # The selected option, else the first.
            if "selected" in a or self._select not in self._form[1]:
                self._form[1][self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "form" and self._form is not None:
            action, values = self._form
            self.found.append(action + ("?" + urlencode(values) if values else ""))
            self._form = None


def links_of(html: str, posts: list[str] | None = None) -> list[str]:
    """The page's links and GET forms; its POST form actions added to ``posts``."""
    parser = Links()
    parser.feed(html)
    if posts is not None:
        posts.extend(parser.posts)
    return parser.found


def local(href: str) -> str | None:
    """``href`` as a path and query of this site, or None for elsewhere."""
    parts = urlsplit(href)
    if parts.scheme not in ("", "http") or parts.netloc not in ("", "gw.test"):
        return None
    if not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def pattern(url: str) -> str:
    """What makes two URLs the same page: the path with its ids taken out
    (a case page keeps its case: one of each seeded state is walked), and
    the query's names, not values."""
    parts = urlsplit(url)
    path = parts.path
    case = re.match(rf"^/staff/cases/({UUID.pattern})$", path)
    if case is None or parts.query:
        path = UUID.sub(":id", path)
        path = re.sub(r"\d{4}-\d{2}", ":month", path)
    names = sorted({p.split("=")[0] for p in parts.query.split("&") if p})
    return path + ("?" + "&".join(names) if names else "")


async def walk(
    client: httpx.AsyncClient, start: str, posts: dict[str, tuple[str, str]] | None = None
) -> list[tuple[str, str, int, str]]:
    """Every page reachable from ``start``: (from, url, status, location);
    one form action of each kind found is put in ``posts`` (pattern: (from, action))."""
    seen = {pattern(start)}
    todo = deque([("(start)", start)])
    out = []
    while todo:
        origin, url = todo.popleft()
        response = await client.get(url)
        location = response.headers.get("location", "")
        out.append((origin, url, response.status_code, location))
        found: list[str] = []
        if response.status_code in (302, 303, 307):
            found = [location]
        elif response.status_code == 200 and "text/html" in response.headers.get(
            "content-type", ""
        ):
            actions: list[str] = []
            found = links_of(response.text, actions)
            for action in actions:
                target = local(action)
                if posts is not None and target is not None:
                    posts.setdefault(pattern(target), (url, target))
        for href in found:
            target = local(href)
            if target is None or target.startswith("/static/"):
                continue
            key = pattern(target)
            if key not in seen:
                seen.add(key)
                todo.append((url, target))
    return out


async def test_every_link_a_role_sees_opens_for_that_role(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    await seed(pool, store)
    failures = []
    walked: dict[str, int] = {}
    posted: dict[str, list[str]] = {}
    for username, role, _ in PEOPLE:
        client.cookies.clear()
        assert (await sign_in(client, username)).status_code == 303
        posts: dict[str, tuple[str, str]] = {}
        pages = await walk(client, "/staff", posts)
        walked[username] = len(pages)
        for origin, url, status, location in pages:
            redirect = status in (302, 303, 307)
            documented = urlsplit(url).path in DOCUMENTED_REDIRECTS
            if status != 200 and not (redirect and documented):
                failures.append(f"{username} ({role}): {url} → {status} {location} (from {origin})")
        posted[username] = sorted(posts)
        for origin, action in posts.values():
            problem = await form_action_problem(client, action)
            if problem:
                failures.append(f"{username} ({role}): POST {action} → {problem} (from {origin})")
    assert not failures, "\n".join(failures)
    # Each role reached its pages and the cases it holds, and its forms.
    assert all(count > 5 for count in walked.values()), walked
    assert all(posted.values()), posted


# Form actions that answer a form without its CSRF token with a redirect, on
# purpose: a sign-out from elsewhere (or a stale page) leaves you signed in.
DOCUMENTED_POST_REDIRECTS = {"/staff/logout": "the role's start page, still signed in"}
# What a form sent without its token is told: each POST route checks the
# token after the role may act, so this answer means the action exists, the
# role may send it, and nothing was done (in Chinese, or in English once the
# walk has followed the language switch).
FORM_EXPIRED = ("表单已过期", "has expired")


async def form_action_problem(client: httpx.AsyncClient, action: str) -> str | None:
    """Whether ``action`` refuses a form without its CSRF token as it should,
    and only for that (not 403 for the role, 404, 405 or 500); nothing is
    done, so every form of every page can be tried."""
    response = await client.post(action, data={})
    if urlsplit(action).path in DOCUMENTED_POST_REDIRECTS:
        return None if response.status_code == 303 else f"{response.status_code}, not 303"
    if response.status_code == 403 and any(said in response.text for said in FORM_EXPIRED):
        return None
    return f"{response.status_code} {response.headers.get('location', '')}".strip()


# -- the department head's dashboard, per-person KPIs, counts that agree ---------


def cards(html: str) -> dict[str, str]:
    return dict(
        re.findall(r'data-kpi="(\w+)">.*?<span class="kpi-value">([^<]*)</span>', html, re.S)
    )


def people(html: str) -> list[str]:
    return re.findall(r'<tr data-person="([^"]+)">', html)


async def test_a_department_head_sees_the_department_and_each_person(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    cases = await seed(pool, store)
    await sign_in(client, "dh-qian")
    page = await client.get("/staff/dashboard")
    assert page.status_code == 200, page.text
    html = page.text
    assert "部门看板" in html and "本月个人指标" in html
    # Each person by display name, never login; only this department's.
    assert "H-Zhao" in people(html) and "H-Sun" not in people(html)
    assert "h-zhao" not in html
    # The department's own overdue case, not another department's.
    assert f'href="/staff/cases/{cases["late"]}"' in html
    assert f'href="/staff/cases/{cases["transport"]}"' not in html
    # The card counts what the list lists (one case: the department's late one).
    listed = re.search(r'id="late-count">(\d+)<', html)
    assert listed is not None and cards(html)["overdue_now"] == listed.group(1) == "1"
    english = await client.get("/staff/dashboard?lang=en")
    assert "Department dashboard" in english.text and "Each person" in english.text
    # Nor the supervisor's actions: the monthly report stays theirs.
    assert (await client.get("/staff/reports/monthly/2026-01.xlsx")).status_code == 403

    # Supervision sees every person, of every department.
    client.cookies.clear()
    await sign_in(client, "sup-wang")
    board = (await client.get("/staff/dashboard")).text
    assert {"H-Zhao", "H-Sun"} <= set(people(board))
    # The 当前超期 card and the list below it count the same cases: every open
    # case late now, whatever month it came (the month's own count is under it).
    listed = re.search(r'id="late-count">(\d+)<', board)
    assert listed is not None and cards(board)["overdue_now"] == listed.group(1) != "0"
    assert f'href="/staff/cases/{cases["late"]}"' in board
    assert "当前超期（全部在办案件）" in board and "其中本月受理" in board
    assert "不论何时受理" in board


async def test_the_closure_rate_and_the_closed_count_say_what_they_count(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    """办结率 counts a result fed back and not reopened, 已办结 only a case the
    follow-up closed (docs/metrics.md): the rate is whole while a fed-back case
    waits for its follow-up, so each says under its name what it counts."""
    await seed(pool, store)
    await sign_in(client, "dh-qian")
    html = (await client.get("/staff/dashboard")).text
    # The two really differ here: every case counted by the rate, fewer closed.
    assert cards(html)["closure_rate"] == "100.0%"
    row = re.search(r'<tr data-person="H-Zhao">(.*?)</tr>', html, re.S)
    assert row is not None
    _held, fed_back, closed = (int(n) for n in re.findall(r"<td>(\d+)</td>", row.group(1))[:3])
    assert closed < fed_back
    # The card and both columns say what they count.
    card = re.search(r'data-kpi="closure_rate">(.*?)</li>', html, re.S)
    assert card is not None and "已反馈结果且未重开（不等回访）" in card.group(1)
    assert re.search(r"<th[^>]*>已办结<span class=\"th-note\">回访后结案</span></th>", html)
    assert re.search(r"<th[^>]*>办结率<span class=\"th-note\">已反馈结果且未重开", html)
    assert "因此办结率可能已达百分之百，而已办结仍为 0。" in html
    english = (await client.get("/staff/dashboard?lang=en")).text
    assert "fed back, not reopened (follow-up not awaited)" in english
    assert "closed after the follow-up" in english

    # The supervisor's dashboard shares the cards and the table.
    client.cookies.clear()
    await sign_in(client, "sup-wang")
    board = (await client.get("/staff/dashboard")).text
    assert "回访后结案" in board and "已反馈结果且未重开（不等回访）" in board


# -- what the record holds, the page shows ----------------------------------------


async def test_the_case_page_and_the_workbench_show_the_record(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    cases = await seed(pool, store)
    await sign_in(client, "h-zhao")
    page = await client.get(f"/staff/cases/{cases['claimed']}")
    assert page.status_code == 200, page.text
    html = page.text
    # The routing's handling requirements, above and in the timeline.
    assert 'id="case-requirements">' + REQUIREMENTS in html
    assert html.count(REQUIREMENTS) == 2
    # The operator's verification note, in the timeline.
    assert "核实情况" in html and NOTE in html
    # The subcategory by its name, never its code.
    assert "秩序安全" in html and "order_safety" not in html
    # People by display name: the handler and whoever did each step.
    assert "H-Zhao" in html and "Op-Li" in html
    assert ">h-zhao<" not in html and "op-li " not in html

    queue = (await client.get("/staff/queue")).text
    row = re.search(
        rf'<td><a class="code" href="/staff/cases/{cases["routed"]}".*?</tr>',
        queue,
        re.S,
    )
    assert row is not None and REQUIREMENTS in row.group(0)
    assert "H-Zhao" in queue  # the handler of the claimed cases

    # The rejection's suggestion (解决建议) in the timeline (an operator's case).
    client.cookies.clear()
    await sign_in(client, "op-li")
    rejected = (await client.get(f"/staff/cases/{cases['rejected']}")).text
    assert "解决建议" in rejected and SUGGESTION in rejected and NOTE in rejected
    english = (await client.get(f"/staff/cases/{cases['rejected']}?lang=en")).text
    assert "Suggested resolution" in english and "Verification note" in english


async def test_a_plans_measures_name_their_owner_by_display_name(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    cases = await seed(pool, store)
    await sign_in(client, "dh-qian")
    html = (await client.get(f"/staff/cases/{cases['handling']}")).text
    measures = re.search(r"<dt>处理措施</dt><dd class=\"text\">([^<]*)<", html)
    assert measures is not None and measures.group(1) == "补发停水公告并致歉 · H-Zhao"


async def test_an_extension_shows_its_reason_and_the_approval_comment_apart(
    client: httpx.AsyncClient, pool: asyncpg.Pool, store: PostgresEventStore
) -> None:
    """The department's reason is 延期理由 wherever the request is shown; the
    approver's words on the decision are 审批意见, not 理由 (which read as the
    reason for the extension)."""
    cases = await seed(pool, store)
    await sign_in(client, "sup-wang")
    pending = (await client.get(f"/staff/cases/{cases['extension']}")).text
    # The request waiting for a decision: its reason beside the days asked.
    assert re.search(r"<dt>延期理由</dt><dd[^>]*>" + EXTENSION_REASON + "<", pending)

    decided = (await client.get(f"/staff/cases/{cases['extended']}")).text
    details = dict(re.findall(r"<dt>([^<]+)</dt><dd class=\"text\">([^<]*)<", decided))
    assert details.get("延期理由") == EXTENSION_REASON
    assert details.get("审批意见") == APPROVAL_COMMENT
    assert "理由" not in details
    assert 'id="extension-reason"' not in decided  # decided: no request waits
    english = (await client.get(f"/staff/cases/{cases['extended']}?lang=en")).text
    assert "<dt>Approval comment</dt>" in english
    assert "<dt>Reason for the extension</dt>" in english
