"""In real Chromium against every service: an operator signs in, registers a
phone complaint and reads out its access code, with which the caller looks
it up; the operator opens it from the intake console, previews the acceptance
notice and accepts; a supervisor sees this month's KPI cards, and the count
of complaints received goes up by one when another is registered and accepted;
a supervisor decides an extension and an arbitration, raises a 督办 from the
case page and finds it on the supervision list; a citizen's 监督举报 names
that complaint and both are linked; an operator follows the case up from the
follow-up worklist."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import new_page, shot, sign_in
from tests.helpers import eventually
from tests.lifecycle import Headers, staff_tokens
from tousu.services.gateway.auth import StaffRole
from tousu.services.gateway.auth import repository as repo
from tousu.services.gateway.auth.passwords import hash_password
from tousu.shared.intake.commitments import CommitmentRegister

PASSWORD = "correct horse battery"
JOURNEY = "desk"


@pytest.fixture
async def staff(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        people: list[tuple[str, StaffRole, str]] = [
            ("op-li", "operator", "李明"),
            ("sup-wang", "supervisor", "王芳"),
        ]
        for username, role, name in people:
            await repo.create_user(
                conn,
                username,
                role=role,
                password_hash=hash_password(PASSWORD),
                display_name=name,
            )
    finally:
        await conn.close()


async def register_phone_complaint(page: Page, site: str, subject: str, step: str) -> str:
    """Registers one, and returns its complaint id (from the case page's address)."""
    return (await register_and_read_the_code(page, site, subject, step))[0]


async def register_and_read_the_code(
    page: Page, site: str, subject: str, step: str
) -> tuple[str, str, str]:
    """Registers one; (complaint id, tracking number, access code as shown once)."""
    await page.goto(f"{site}/staff/intake/new")
    await expect(page.locator("#channel-phone")).to_be_checked()
    await page.fill("#name", "张伟")
    await page.fill("#phone", "13800138000")
    await page.select_option("#preferred_channel", "phone")  # 答复方式: 短信
    await page.fill("#subject", subject)
    await page.fill("#description", "窗口工作人员态度冷漠，拒绝解释办理流程。")
    await page.select_option("#kind", "service_quality/attitude")
    await shot(page, JOURNEY, f"{step}-register-filled")
    await page.click("main form.form button[type=submit]")
    # The code, shown this once, to read out on the phone.
    await expect(page.locator("#access-code")).to_be_visible()
    tracking_no = (await page.locator("#tracking-no").text_content() or "").strip()
    code = (await page.locator("#access-code").text_content() or "").strip()
    await expect(page.locator("main")).to_contain_text("短信")
    if step == "first":  # the page looked at on a desktop and on a phone
        await shot(page, JOURNEY, "registered-code-shown-once-desktop")
        await page.set_viewport_size({"width": 375, "height": 667})
        await shot(page, JOURNEY, "registered-code-shown-once-phone")
        await page.set_viewport_size({"width": 1280, "height": 900})
    await page.click("text=打开案件")
    await page.wait_for_url(re.compile(r"/staff/cases/[0-9a-f-]{36}$"))
    return page.url.rsplit("/", 1)[1], tracking_no, code


async def the_caller_looks_it_up(browser: Browser, site: str, tracking_no: str, code: str) -> None:
    """The complainant, told the code on the phone, finds the case with it."""
    citizen = await new_page(browser)
    await citizen.goto(f"{site}/track")
    await citizen.fill("#tracking_no", tracking_no)
    await citizen.fill("#code", code)
    await citizen.click("main form button[type=submit]")
    await citizen.wait_for_url(re.compile(r"/track/case$"))
    await expect(citizen.locator("main")).to_contain_text(tracking_no)
    await shot(citizen, JOURNEY, "caller-looked-up-with-the-code")
    await citizen.context.close()


async def accept_with_preview(page: Page, site: str, complaint_id: str, step: str) -> None:
    await page.goto(f"{site}/staff/intake/{complaint_id}")
    await page.select_option("#kind", "service_quality/attitude")
    await page.fill("#note", "电话回拨核实，情况属实。")
    await page.click("text=预览受理告知书")
    preview = page.locator("#accept-preview")
    await expect(preview).to_contain_text("受理告知书")
    await shot(page, JOURNEY, f"{step}-preview")
    await page.click("text=受理并发送告知书")
    await page.wait_for_url(re.compile(rf"/staff/cases/{complaint_id}$"))
    await shot(page, JOURNEY, f"{step}-accepted")


async def test_an_operator_accepts_and_the_supervisor_sees_it_counted(
    site: str, browser: Browser, staff: None
) -> None:
    operator = await new_page(browser)
    await sign_in(operator, site, "op-li", PASSWORD)
    await shot(operator, JOURNEY, "operator-intake-empty")
    first, tracking_no, code = await register_and_read_the_code(
        operator, site, "办事窗口服务态度差", "first"
    )
    await shot(operator, JOURNEY, "first-case-page")
    await the_caller_looks_it_up(browser, site, tracking_no, code)

    # The console lists it once the case index has caught up.
    async def listed() -> bool:
        await operator.goto(f"{site}/staff/intake")
        return await operator.locator(f'a[href="/staff/intake/{first}"]').count() == 1

    await eventually(listed, "the complaint in the intake console", timeout=20)
    await expect(operator.locator("[data-colour]").first).to_have_attribute("data-colour", "green")
    await shot(operator, JOURNEY, "operator-intake-list")
    await operator.click(f'a[href="/staff/intake/{first}"]')
    await expect(operator.locator("main")).to_contain_text("办事窗口服务态度差")
    await shot(operator, JOURNEY, "operator-verify")
    await accept_with_preview(operator, site, first, "first")

    supervisor = await new_page(browser)
    await sign_in(supervisor, site, "sup-wang", PASSWORD)

    async def shows(kpi: str, value: str) -> bool:
        # Loaded afresh each time: the page shows the figures as they were
        # when it was served, and the projection takes the received and the
        # accepted event in turn, so one load may count the complaint but
        # not yet its acceptance.
        await supervisor.goto(f"{site}/staff/dashboard")
        text = await supervisor.locator(f'[data-kpi="{kpi}"] .kpi-value').text_content()
        return (text or "").strip() == value

    async def counted(n: int) -> bool:
        return await shows("received", str(n))

    await eventually(lambda: counted(1), "the first complaint counted", timeout=20)
    await eventually(
        lambda: shows("acceptance_timeliness", "100.0%"), "its acceptance counted", timeout=20
    )
    await expect(supervisor.locator(".kpi-card")).to_have_count(6)
    await shot(supervisor, JOURNEY, "supervisor-dashboard-1")

    second = await register_phone_complaint(operator, site, "热线电话长时间无人接听", "second")
    await accept_with_preview(operator, site, second, "second")
    await eventually(lambda: counted(2), "the second complaint counted", timeout=20)
    await shot(supervisor, JOURNEY, "supervisor-dashboard-2")

    # The same caller again about the same thing: a duplicate (重复件) to merge.
    again = await register_phone_complaint(operator, site, "办事窗口服务态度差", "third")
    await operator.goto(f"{site}/staff/intake/{again}")
    await expect(operator.locator("#dup-title + ul")).to_contain_text("办事窗口服务态度差")
    await shot(operator, JOURNEY, "third-duplicate-suggested")
    await operator.click("text=并入此件")
    await expect(operator.locator(".desk-confirm")).to_be_visible()
    await shot(operator, JOURNEY, "third-merge-confirm")
    await operator.click("text=确认并案")
    await operator.wait_for_url(re.compile(rf"/staff/cases/{again}$"))
    await shot(operator, JOURNEY, "third-merged")

    await supervisor.goto(f"{site}/staff/dashboard?lang=en")
    await expect(supervisor.locator('[data-kpi="received"] .kpi-label')).to_have_text("Received")
    await shot(supervisor, JOURNEY, "supervisor-dashboard-en")

    # An operator has no dashboard.
    refused = await operator.goto(f"{site}/staff/dashboard")
    assert refused is not None and refused.status == 403
    await shot(operator, JOURNEY, "operator-forbidden")


async def _case(api: httpx.AsyncClient, cid: str, headers: Headers) -> dict[str, Any]:
    found = await api.get(f"/api/v1/complaints/{cid}", headers=headers)
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


async def _routed_case(
    api: httpx.AsyncClient, tokens: dict[str, Headers], subject: str, **accept: str
) -> str:
    """Registered and accepted through the staff API, then routed by the routing service."""
    op = tokens["op-api"]
    body = {
        "channel": "phone",
        "complainant": {"name": "赵敏", "phone": "13911112222"},
        "subject": subject,
        "description": "多次反映无人处理。",
    }
    made = await api.post("/api/v1/complaints", json=body, headers=op)
    assert made.status_code == 201, made.text
    cid = str(made.json()["complaint_id"])
    accepted = await api.post(
        f"/api/v1/complaints/{cid}/accept",
        json={"category": "service_quality", **accept},
        headers=op,
    )
    assert accepted.status_code == 200, accepted.text
    return cid


async def _status_is(api: httpx.AsyncClient, cid: str, headers: Headers, status: str) -> str:
    """Waits for the status; the holding department then."""
    holder: list[str] = []

    async def reached() -> bool:
        case = await _case(api, cid, headers)
        holder[:] = [case["department"] or ""]
        return bool(case["status"] == status)

    await eventually(reached, f"{cid} to be {status}", timeout=20)
    return holder[0]


async def test_a_supervisor_approves_an_extension_and_arbitrates_a_twice_returned_case(
    site: str, browser: Browser, staff: None, database_url: str
) -> None:
    people: list[tuple[str, StaffRole, str | None]] = [("op-api", "operator", None)]
    people += [(f"h-{d.code}", "handler", d.code) for d in CommitmentRegister.load().departments]
    tokens = await staff_tokens(database_url, people)
    op = tokens["op-api"]
    async with httpx.AsyncClient(base_url=site, timeout=15) as api:
        extended = await _routed_case(api, tokens, "办理进度长期停滞")
        department = await _status_is(api, extended, op, "routed")
        handler = tokens[f"h-{department}"]
        claimed = await api.post(f"/api/v1/complaints/{extended}/claim", headers=handler)
        assert claimed.status_code == 200, claimed.text
        asked = await api.post(
            f"/api/v1/complaints/{extended}/extension",
            json={"working_days": 3, "reason": "需现场勘查"},
            headers=handler,
        )
        assert asked.status_code == 200, asked.text

        # The register's item goes to the police first, then to the fallback department.
        disputed = await _routed_case(
            api, tokens, "两个部门互相推诿", service_item="household_registration"
        )
        first = await _status_is(api, disputed, op, "routed")
        back = {"reason": "不属于本部门职责", "basis": "三定方案"}
        returned = await api.post(
            f"/api/v1/complaints/{disputed}/return", json=back, headers=tokens[f"h-{first}"]
        )
        assert returned.status_code == 200, returned.text

        async def rerouted() -> bool:
            case = await _case(api, disputed, op)
            return bool(case["status"] == "routed" and case["department"] != first)

        await eventually(rerouted, "the returned case routed elsewhere", timeout=20)
        second = (await _case(api, disputed, op))["department"]
        returned = await api.post(
            f"/api/v1/complaints/{disputed}/return", json=back, headers=tokens[f"h-{second}"]
        )
        assert returned.status_code == 200, returned.text

        supervisor = await new_page(browser)
        await sign_in(supervisor, site, "sup-wang", PASSWORD)

        async def listed(cid: str) -> bool:
            await supervisor.goto(f"{site}/staff/dashboard")
            return await supervisor.locator(f"form[action*='{cid}']").count() == 1

        await eventually(lambda: listed(extended), "the extension request listed", timeout=20)
        await eventually(lambda: listed(disputed), "the returned case listed", timeout=20)
        await expect(supervisor.locator("main")).to_contain_text("待仲裁")
        await shot(supervisor, JOURNEY, "supervisor-decisions")

        extension_form = supervisor.locator(f"form[action*='{extended}']")
        await extension_form.locator("input[name=reason]").fill("同意延期3个工作日")
        await extension_form.locator("button[value=yes]").click()
        await supervisor.wait_for_url(re.compile(r"/staff/dashboard\?done=1$"))
        await expect(supervisor.locator(".alert")).to_contain_text("操作已完成")
        await _status_is(api, extended, op, "claimed")

        route_form = supervisor.locator(f"form[action*='{disputed}']")
        await route_form.locator("select[name=department]").select_option(first)
        await route_form.locator("input[name=requirements]").fill("请牵头办理，5个工作日内反馈")
        await route_form.locator("button[type=submit]").click()
        await supervisor.wait_for_url(re.compile(r"/staff/dashboard\?done=1$"))
        assert await _status_is(api, disputed, op, "routed") == first
        await shot(supervisor, JOURNEY, "supervisor-decided")

        tracking_no = str((await _case(api, extended, op))["tracking_no"])
        await _supervise_from_the_case_page(supervisor, site, extended, tracking_no)
        report = await _a_citizen_reports_on_it(browser, supervisor, site, extended, tracking_no)
        assert report != extended
        await _handled_to_feedback(api, extended, handler)
        await _followed_up_from_the_worklist(browser, site, extended, tracking_no)


async def both_sizes(page: Page, step: str) -> None:
    """A screenshot on a desktop (1280 wide) and on a phone (375×667)."""
    await shot(page, JOURNEY, f"{step}-desktop")
    await page.set_viewport_size({"width": 375, "height": 667})
    await shot(page, JOURNEY, f"{step}-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})


async def _supervise_from_the_case_page(
    supervisor: Page, site: str, cid: str, tracking_no: str
) -> None:
    """A supervisor's 督办 from the case page, with its reason and date; it is
    then on the supervision office's list of open items."""
    await supervisor.goto(f"{site}/staff/cases/{cid}")
    await supervisor.click("#action-supervise summary")
    await supervisor.fill("#supervise-note", "群众多次来电催问，请加快办理")
    await supervisor.fill("#supervise-respond_by", (date.today() + timedelta(days=5)).isoformat())
    await both_sizes(supervisor, "supervise-form")
    await supervisor.click("#action-supervise button[type=submit]")
    await supervisor.wait_for_url(re.compile(rf"/staff/cases/{cid}$"))
    await expect(supervisor.locator(".alert")).to_contain_text("已督办")
    await expect(supervisor.locator("ul.supervision")).to_contain_text("群众多次来电催问")
    await expect(supervisor.locator("ul.supervision")).to_contain_text("办理时限")

    async def listed() -> bool:
        await supervisor.goto(f"{site}/staff/supervision")
        return await supervisor.locator(f'tr[data-tracking-no="{tracking_no}"]').count() >= 1

    await eventually(listed, "the 督办 on the supervision list", timeout=20)
    row = supervisor.locator(f'tr[data-tracking-no="{tracking_no}"]', has_text="群众多次来电催问")
    await expect(row).to_contain_text("督查室督办")
    await expect(row).to_contain_text("王芳")  # who raised it, by name
    await both_sizes(supervisor, "supervision-list")


async def _a_citizen_reports_on_it(
    browser: Browser, supervisor: Page, site: str, cid: str, tracking_no: str
) -> str:
    """A citizen's 监督举报 names the earlier complaint on the public form (a
    number that belongs to no complaint is refused at the field); both cases'
    pages then link to each other. The report's complaint id."""
    citizen = await new_page(browser)
    await citizen.goto(f"{site}/complaints/new")
    await citizen.fill("#phone", "13911112222")
    await citizen.fill("#subject", "对投诉处理进度不满")
    await citizen.fill("#description", "投诉一个多月仍未处理完毕，承办人员推脱。")
    await citizen.fill("#related_tracking_no", "TS2612-77470-16352")  # well-formed, unknown
    await citizen.click("main form button[type=submit]")
    await expect(citizen.locator("#related_tracking_no-error")).to_contain_text("没有这个编号")
    await both_sizes(citizen, "report-unknown-number")
    await citizen.fill("#related_tracking_no", tracking_no.lower())  # typed loosely
    await citizen.click("main form button[type=submit]")
    await expect(citizen.locator("dd.code").first).to_have_text(re.compile(r"^TS"))
    report_no = (await citizen.locator("dd.code").first.text_content() or "").strip()

    async def linked() -> bool:
        await supervisor.goto(f"{site}/staff/cases/{cid}")
        return await supervisor.locator("#linked-cases a", has_text=report_no).count() == 1

    await eventually(linked, "the report linked on the earlier case", timeout=20)
    await both_sizes(supervisor, "earlier-case-linked")
    await supervisor.click(f"#linked-cases a:has-text('{report_no}')")
    await supervisor.wait_for_url(re.compile(r"/staff/cases/[0-9a-f-]{36}$"))
    report = supervisor.url.rsplit("/", 1)[1]
    back = supervisor.locator(f'#linked-cases a[href="/staff/cases/{cid}"]')
    await expect(back).to_have_text(tracking_no)
    await both_sizes(supervisor, "report-case-linked")
    return report


async def _handled_to_feedback(api: httpx.AsyncClient, cid: str, handler: Headers) -> None:
    """The holding department handles the case and sends the result (API)."""
    steps: list[tuple[str, dict[str, Any]]] = [
        ("investigation", {"findings": "现场核实，确有拖延"}),
        ("plan", {"summary": "限期办结", "measures": [{"measure": "三日内办结", "owner": "科长"}]}),
        ("consultation", {"agrees": True, "opinion": "同意"}),
        ("resolve", {"result": "已办结并致歉", "basis": "首问负责制"}),
        ("feedback", {}),
    ]
    for action, body in steps:
        done = await api.post(f"/api/v1/complaints/{cid}/{action}", json=body, headers=handler)
        assert done.status_code == 200, (action, done.text)


async def _followed_up_from_the_worklist(
    browser: Browser, site: str, cid: str, tracking_no: str
) -> None:
    """An operator finds the case on the follow-up worklist, cannot reach the
    complainant, and the worklist then counts that attempt."""
    operator = await new_page(browser)
    await sign_in(operator, site, "op-li", PASSWORD)
    row = operator.locator(f'tr[data-tracking-no="{tracking_no}"]')

    async def listed() -> bool:
        await operator.goto(f"{site}/staff/follow-ups")
        return await row.count() == 1

    await eventually(listed, "the case on the follow-up worklist", timeout=20)
    await expect(row).to_contain_text("尚未回访")
    await row.locator("a.button").click()
    await operator.wait_for_url(re.compile(rf"/staff/cases/{cid}#follow-up-satisfaction$"))
    await operator.check("#follow-up-satisfaction-unreachable")
    await operator.click("#action-follow-up button[type=submit]")
    await operator.wait_for_url(re.compile(rf"/staff/cases/{cid}$"))

    async def counted() -> bool:
        await operator.goto(f"{site}/staff/follow-ups")
        return "1 次未接通" in (await row.text_content() or "")

    await eventually(counted, "the attempt counted on the worklist", timeout=20)
    await both_sizes(operator, "follow-up-list")
    await operator.goto(f"{site}/staff/follow-ups?lang=en")
    await expect(row).to_contain_text("1 attempt not reached")
    await shot(operator, JOURNEY, "follow-up-list-en")
