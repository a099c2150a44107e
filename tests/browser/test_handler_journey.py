"""In real Chromium, against every service: a complaint filed on the web,
accepted by an operator and routed by the rules to the water department; a
handler signs in, finds it in the workbench, claims it, records the
investigation, resolves it and sends the result, through the staff pages.
The complainant is not satisfied, so the case reopens; it is resolved and
fed back again, and the complainant is satisfied. A supervisor's KPI cards
follow each answer."""

from __future__ import annotations

import re
from typing import Any

import asyncpg
import httpx
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import new_page, shot, sign_in
from tests.helpers import eventually
from tests.lifecycle import staff_tokens
from tousu.services.gateway.auth import repository as repo
from tousu.services.gateway.auth.passwords import hash_password
from tousu.shared.settings import Settings

JOURNEY = "handler"
PASSWORD = "water works 2026"
SCRIPT = "<script>alert('x')</script>"
COMPLAINT = {
    "complainant": {"name": "刘洋", "phone": "13912345678"},
    "subject": "自来水停水两天未通知",
    "description": f"小区停水两天，供水公司电话无人接听。{SCRIPT}",
}


async def add_staff(settings: Settings) -> None:
    conn = await asyncpg.connect(str(settings.database_url))
    try:
        await repo.create_user(
            conn,
            "h-zhao",
            role="handler",
            department="water",
            display_name="赵海",
            password_hash=hash_password(PASSWORD),
        )
        await repo.create_user(
            conn,
            "dh-qian",
            role="dept_head",
            department="water",
            display_name="钱敏",
            password_hash=hash_password(PASSWORD),
        )
        await repo.create_user(
            conn,
            "sup-wang",
            role="supervisor",
            display_name="王芳",
            password_hash=hash_password(PASSWORD),
        )
    finally:
        await conn.close()


async def routed_to_water(site: str, settings: Settings) -> dict[str, Any]:
    """Filed over the public API, accepted by an operator, routed by the rules."""
    staff = await staff_tokens(str(settings.database_url), [("op-li", "operator", None)])
    async with httpx.AsyncClient(base_url=site, timeout=15) as api:
        filed = await api.post("/api/v1/public/complaints", json=COMPLAINT)
        assert filed.status_code == 201, filed.text
        complaint_id = filed.json()["complaint_id"]
        access_code = filed.json()["access_code"]
        accepted = await api.post(
            f"/api/v1/complaints/{complaint_id}/accept",
            json={"category": "service_quality"},
            headers=staff["op-li"],
        )
        assert accepted.status_code == 200, accepted.text
        case: dict[str, Any] = {}

        async def routed() -> bool:
            nonlocal case
            response = await api.get(f"/api/v1/complaints/{complaint_id}", headers=staff["op-li"])
            case = response.json()
            return bool(case["status"] == "routed")

        await eventually(routed, "routing by the rules", timeout=30)
    assert case["department"] == "water"
    return case | {"access_code": access_code}


async def in_queue(page: Page, tracking_no: str) -> None:
    row = page.locator(f'tr[data-tracking-no="{tracking_no}"]')

    async def listed() -> bool:
        await page.reload()
        return await row.count() > 0

    # The workbench reads the case index, which follows the store by a moment.
    await eventually(listed, "the case in the workbench", timeout=30)


async def rate(page: Page, site: str, case: dict[str, Any], choice: str, step: str) -> None:
    """The complainant looks the case up and answers the survey."""
    await page.goto(f"{site}/track")
    await page.fill("#tracking_no", case["tracking_no"])
    await page.fill("#code", case["access_code"])
    await page.click("main form button[type=submit]")
    await expect(page.locator("#survey")).to_be_visible()
    await page.check(f"#satisfaction-{choice}")
    await page.fill("#comment", "停水公告至今没有张贴。" if choice == "dissatisfied" else "")
    await shot(page, JOURNEY, f"{step}-survey")
    await page.click("#survey button[type=submit]")
    await expect(page.locator(".alert")).to_contain_text("感谢您的评价")
    await shot(page, JOURNEY, f"{step}-rated")


async def kpi_detail(page: Page, site: str, name: str, expected: str) -> None:
    """The dashboard's card ``name`` shows ``expected`` (numerator/denominator)."""
    card = page.locator(f'[data-kpi="{name}"] .kpi-detail')

    async def shows() -> bool:
        await page.goto(f"{site}/staff/dashboard")
        return await card.count() > 0 and (await card.text_content() or "").strip() == expected

    # The cards read the KPI projection, which follows the store by a moment.
    await eventually(shows, f"the {name} card to show {expected}", timeout=30)


async def plan_and_consult(page: Page, measure: str) -> None:
    """A handling plan (measure, owner, date), then the complainant's opinion on it."""
    await page.click("#action-plan > summary")
    await page.fill("#plan-summary", "张贴公告并致歉")
    await page.fill("#plan-measure_1", measure)
    await page.fill("#plan-owner_1", "赵海")
    await page.click("#action-plan button[type=submit]")
    await expect(page.locator(".alert")).to_contain_text("处理方案已记录")
    await expect(page.locator("#next-step")).to_contain_text("征求投诉人意见")
    await page.click("#action-consultation > summary")
    await page.check("#consultation-agrees-yes")
    await page.fill("#consultation-opinion", "同意，希望尽快张贴公告。")
    await page.click("#action-consultation button[type=submit]")
    await expect(page.locator(".alert")).to_contain_text("投诉人意见已记录")
    await expect(page.locator("#next-step")).to_contain_text("下一步：按处理方案组织实施")


async def resolve_and_feed_back(page: Page, result: str) -> None:
    await page.click("#action-resolve > summary")
    await page.fill("#resolve-result", result)
    await page.fill("#resolve-basis", "《城市供水条例》")
    await page.click("#action-resolve button[type=submit]")
    await expect(page.locator(".alert")).to_contain_text("处理结果已记录")
    await page.get_by_role("button", name="反馈结果").click()
    await expect(page.locator("#case-status")).to_contain_text("已反馈")


async def test_a_handler_works_a_case_through_the_pages(
    site: str, browser: Browser, settings: Settings
) -> None:
    await add_staff(settings)
    case = await routed_to_water(site, settings)
    tracking_no, complaint_id = case["tracking_no"], case["complaint_id"]

    page = await new_page(browser)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))

    # A staff page sends a stranger to sign in, then back.
    await page.goto(f"{site}/staff/queue")
    await expect(page).to_have_url(re.compile(r"/staff/login\?next=/staff/queue$"))
    await page.fill("#username", "h-zhao")
    await page.fill("#password", "wrong password")
    await page.click("main button[type=submit]")
    await expect(page.locator(".alert")).to_contain_text("用户名或密码错误")
    await shot(page, JOURNEY, "login-refused")
    await page.fill("#password", PASSWORD)
    await page.click("main form.form button[type=submit]")
    await expect(page).to_have_url(re.compile(r"/staff/queue$"))
    await expect(page.locator(".staff-user")).to_contain_text("赵海")

    # The workbench: the routed case, its claim deadline coloured, a claim button.
    await in_queue(page, tracking_no)
    row = page.locator(f'tr[data-tracking-no="{tracking_no}"]')
    await expect(row.locator(".badge")).to_have_count(1)
    await shot(page, JOURNEY, "queue-routed")
    # A second tab, opened before the claim, offers it still.
    stale = await page.context.new_page()
    await stale.goto(f"{site}/staff/cases/{complaint_id}")
    await row.get_by_role("button", name="签收").click()

    # The case page, where claiming leads.
    await expect(page).to_have_url(f"{site}/staff/cases/{complaint_id}")
    await expect(page.locator(".alert")).to_contain_text("已签收")
    status = page.locator("#case-status")
    await expect(status).to_have_text("已签收")
    await expect(page.locator("#complaint-text")).to_contain_text(SCRIPT)
    await expect(page.locator("#timeline")).to_contain_text("签收")
    # Whoever did each step, by display name, not login.
    await expect(page.locator("#timeline")).to_contain_text("赵海")
    await expect(page.locator("#timeline")).not_to_contain_text("h-zhao")
    await shot(page, JOURNEY, "case-claimed")
    # The order of the steps: the investigation comes first; the plan, the
    # opinion on it, progress and the result wait, saying why.
    await expect(page.locator("#next-step")).to_contain_text("下一步：调查核实")
    blocked = page.locator('#action-resolve[aria-disabled="true"]')
    await expect(blocked).to_contain_text("暂不能办理：须先完成调查核实")
    await expect(page.locator('#action-consultation[aria-disabled="true"]')).to_have_count(1)
    await page.set_viewport_size({"width": 375, "height": 667})
    await shot(page, JOURNEY, "case-claimed-next-step-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})

    # The stale tab's claim is refused with the state the case is in now.
    await stale.get_by_role("button", name="签收").click()
    await expect(stale.locator(".alert")).to_contain_text("当前状态为“已签收”")
    await expect(stale.locator("#case-status")).to_have_text("已签收")
    await shot(stale, JOURNEY, "case-claim-conflict")
    await stale.close()

    # The investigation.
    await page.click("#action-investigation > summary")
    await page.fill("#investigation-findings", "因主管道爆管抢修停水，未按规定提前公告。")
    await page.fill("#investigation-methods", "现场勘查\n调取停水公告记录")
    await page.click("#action-investigation button[type=submit]")
    await expect(page.locator(".alert")).to_contain_text("调查核实情况已记录")
    await expect(page.locator("#timeline")).to_contain_text("因主管道爆管抢修停水")
    await expect(status).to_have_text("处理中")
    await shot(page, JOURNEY, "case-investigated")
    await expect(page.locator("#next-step")).to_contain_text("下一步：制定处理方案")
    await expect(page.locator('#action-resolve[aria-disabled="true"]')).to_contain_text(
        "须先完成制定处理方案"
    )
    await plan_and_consult(page, "在小区各单元张贴停水公告")
    await expect(page.locator("#timeline")).to_contain_text("在小区各单元张贴停水公告")
    await shot(page, JOURNEY, "case-planned-and-consulted")

    # The result: a missing field is shown next to it, then it is recorded.
    await page.click("#action-resolve > summary")
    await page.fill("#resolve-basis", "《城市供水条例》")
    await page.click("#action-resolve button[type=submit]")
    await expect(page.locator("#resolve-result-error")).to_be_visible()
    await expect(page.locator("#resolve-basis")).to_have_value("《城市供水条例》")
    await shot(page, JOURNEY, "case-resolve-error")
    await page.fill("#resolve-result", "已恢复供水，并向小区住户致歉。")
    await page.fill("#resolve-improvements", "计划停水前24小时张贴公告并短信通知。")
    await page.click("#action-resolve button[type=submit]")
    await expect(page.locator(".alert")).to_contain_text("处理结果已记录")
    await expect(status).to_contain_text("已办理")
    await shot(page, JOURNEY, "case-resolved")

    # The feedback.
    await page.get_by_role("button", name="反馈结果").click()
    await expect(page.locator(".alert")).to_contain_text("处理结果已反馈投诉人")
    await expect(status).to_contain_text("已反馈")
    await expect(page.locator("#timeline")).to_contain_text("反馈结果")
    assert dialogs == []
    await shot(page, JOURNEY, "case-fed-back")
    await page.goto(f"{site}/staff/cases/{complaint_id}?lang=en")
    await expect(status).to_contain_text("Fed back")
    await shot(page, JOURNEY, "case-fed-back-en")
    await page.goto(f"{site}/staff/cases/{complaint_id}?lang=zh-CN")

    # The complainant is not satisfied: the case goes back to the department.
    citizen = await new_page(browser)
    citizen.on("dialog", lambda dialog: dialogs.append(dialog.message))
    supervisor = await new_page(browser)
    await sign_in(supervisor, site, "sup-wang", PASSWORD)
    await kpi_detail(supervisor, site, "closure_rate", "1/1")
    await shot(supervisor, JOURNEY, "dashboard-fed-back")
    await rate(citizen, site, case, "dissatisfied", "first")
    await expect(citizen.locator("main")).to_contain_text("重办中")
    await kpi_detail(supervisor, site, "satisfaction_rate", "0/1")
    await expect(supervisor.locator('[data-kpi="closure_rate"] .kpi-detail')).to_have_text("0/1")
    await shot(supervisor, JOURNEY, "dashboard-dissatisfied")
    await page.reload()
    await expect(status).to_have_text("重办中")
    await expect(page.locator("#timeline")).to_contain_text("停水公告至今没有张贴")
    await shot(page, JOURNEY, "case-reopened")

    # Handled again, afresh in the policy's order, fed back again; this time
    # the complainant is satisfied.
    await expect(page.locator("#next-step")).to_contain_text("下一步：调查核实")
    await page.click("#action-investigation > summary")
    await page.fill("#investigation-findings", "公告确未张贴。")
    await page.click("#action-investigation button[type=submit]")
    await expect(page.locator(".alert")).to_contain_text("调查核实情况已记录")
    await plan_and_consult(page, "补贴公告并短信告知住户")
    await resolve_and_feed_back(page, "已在小区各单元张贴停水公告，并短信告知住户。")
    await shot(page, JOURNEY, "case-fed-back-again")
    await rate(citizen, site, case, "satisfied", "second")
    await expect(citizen.locator("main")).to_contain_text("已办结")
    await page.reload()
    await expect(status).to_have_text("已办结")
    await shot(page, JOURNEY, "case-closed")
    await kpi_detail(supervisor, site, "satisfaction_rate", "1/1")
    await expect(supervisor.locator('[data-kpi="closure_rate"] .kpi-detail')).to_have_text("1/1")
    await shot(supervisor, JOURNEY, "dashboard-satisfied")
    assert dialogs == []

    # The department head's own dashboard: the department's month and each
    # person's rates, the handler by name (docs/dashboards.md).
    head = await new_page(browser)
    await sign_in(head, site, "dh-qian", PASSWORD)
    await head.get_by_role("link", name="部门看板").first.click()
    await expect(head).to_have_url(f"{site}/staff/dashboard")
    person = head.locator('#people tr[data-person="赵海"]')
    await expect(person).to_contain_text("100.0% (1/1)")  # closure and satisfaction
    await expect(head.locator("#people")).not_to_contain_text("h-zhao")
    await shot(head, JOURNEY, "department-dashboard")
    await head.set_viewport_size({"width": 375, "height": 667})
    await shot(head, JOURNEY, "department-dashboard-phone")

    # Signing out ends the session.
    await page.click(".staff-user button[type=submit]")
    await expect(page).to_have_url(re.compile(r"/staff/login"))
    await page.goto(f"{site}/staff/cases/{complaint_id}")
    await expect(page).to_have_url(re.compile(r"/staff/login\?next="))
