"""The policy walked as each role, in real Chromium against every service,
through the web pages only (clicks and form fills; the accounts, which an
administrator makes with `tousu users add`, are the one thing set up behind
the pages):

- operator: registers a phone complaint at the desk, reads out the access
  code shown once, previews the acceptance notice and accepts it;
- complainant: looks the case up on the public pages with the number and
  the code read out, and later answers the satisfaction survey with them;
- handler: claims the case and asks for an extension (延期) with the
  department's reason, then investigates, plans, records the complainant's
  opinion, resolves and sends the result, in the policy's order;
- supervisor: approves the extension; the 延期告知书 gives the department's
  reason and fills 投诉事项 / 原定反馈日期 / 延长期限; raises a 督办 from the
  case page (reason and date) and finds it on /staff/supervision;
- department head: opens the department's own dashboard, each person's rates
  by display name;
- citizen: files a 监督举报 on the public form naming the complaint; both
  cases link to each other.

Screenshots of each page walked, 1280 and 375 wide, go to $TOUSU_TEST_SHOTS
(default tests/artifacts/roles)."""

from __future__ import annotations

import os
import re
import subprocess
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS, new_page, sign_in
from tests.browser.test_handler_journey import in_queue, plan_and_consult, resolve_and_feed_back
from tests.helpers import eventually
from tousu.services.gateway.auth import StaffRole
from tousu.services.gateway.auth import repository as repo
from tousu.services.gateway.auth.passwords import hash_password

PASSWORD = "policy walk 2026"
SHOTS = Path(os.environ.get("TOUSU_TEST_SHOTS") or ARTIFACTS / "roles")
SUBJECT = "小区自来水停水两天未通知"
EXTENSION_REASON = "需协调管网维修单位到场勘查"
APPROVAL = "同意延期"

STAFF: list[tuple[str, StaffRole, str | None, str]] = [
    ("op-li", "operator", None, "李明"),
    ("h-zhao", "handler", "water", "赵海"),
    ("dh-qian", "dept_head", "water", "钱敏"),
    ("sup-wang", "supervisor", None, "王芳"),
]


async def accounts(database_url: str) -> None:
    """What an administrator does with `tousu users add` before anyone signs in."""
    conn = await asyncpg.connect(database_url)
    try:
        for username, role, department, name in STAFF:
            await repo.create_user(
                conn,
                username,
                role=role,
                department=department,
                display_name=name,
                password_hash=hash_password(PASSWORD),
            )
    finally:
        await conn.close()


# Whether the page scrolls sideways on a phone, and if so what sticks out past
# the right edge (wide tables scroll inside their frame and do not count,
# unless something of theirs escapes it, such as a positioned label).
WIDER_THAN_THE_SCREEN = """() => {
  const screen = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= screen) return [];
  return [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > screen + 1
                 && (!e.closest('.table-scroll') || getComputedStyle(e).position === 'absolute'))
    .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(
        e.getBoundingClientRect().right));
}"""


async def both_sizes(page: Page, step: str) -> None:
    """The page as it is, 1280 wide and on a phone (375 wide), where it must
    not scroll sideways (wide tables scroll inside their frame)."""
    await page.screenshot(path=str(SHOTS / f"{step}-desktop.png"), full_page=True)
    await page.set_viewport_size({"width": 375, "height": 667})
    await page.screenshot(path=str(SHOTS / f"{step}-phone.png"), full_page=True)
    sticking_out = await page.evaluate(WIDER_THAN_THE_SCREEN)
    await page.set_viewport_size({"width": 1280, "height": 900})
    assert not sticking_out, (step, sticking_out)


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


async def staff_page(browser: Browser, site: str, username: str) -> Page:
    page = await new_page(browser)
    await sign_in(page, site, username, PASSWORD)
    return page


# -- operator -------------------------------------------------------------------


async def operator_registers_and_accepts(page: Page, site: str) -> tuple[str, str, str]:
    """A phone call registered at the desk; (complaint id, tracking number,
    access code as shown once)."""
    # The operator starts on the intake console.
    await page.click('main a[href="/staff/intake/new"]')
    await expect(page.locator("#channel-phone")).to_be_checked()
    await page.fill("#name", "刘洋")
    await page.fill("#phone", "13912345678")
    await page.select_option("#preferred_channel", "phone")
    await page.fill("#subject", SUBJECT)
    await page.fill("#description", "小区停水两天，事前没有任何公告，供水公司电话无人接听。")
    await both_sizes(page, "01-operator-registers")
    await page.click("main form.form button[type=submit]")
    await expect(page.locator("#access-code")).to_be_visible()
    tracking_no = (await page.locator("#tracking-no").text_content() or "").strip()
    code = (await page.locator("#access-code").text_content() or "").strip()
    assert re.fullmatch(r"TS\d{4}-\d{5}-\d{5}", tracking_no), tracking_no
    await both_sizes(page, "02-operator-reads-the-code")
    await page.click("text=打开案件")
    await page.wait_for_url(re.compile(r"/staff/cases/[0-9a-f-]{36}$"))
    complaint_id = page.url.rsplit("/", 1)[1]

    await page.goto(f"{site}/staff/intake/{complaint_id}")
    await page.select_option("#kind", "service_quality/attitude")
    await page.fill("#note", "电话回拨核实，情况属实。")
    await page.click("text=预览受理告知书")
    await expect(page.locator("#accept-preview")).to_contain_text("尊敬的刘洋")
    await both_sizes(page, "03-operator-previews-acceptance")
    await page.click("text=受理并发送告知书")
    await page.wait_for_url(re.compile(rf"/staff/cases/{complaint_id}$"))
    return complaint_id, tracking_no, code


# -- complainant and citizen (public pages) ---------------------------------------


async def complainant_looks_it_up(page: Page, site: str, tracking_no: str, code: str) -> None:
    await page.goto(f"{site}/")
    await page.click('main a[href="/track"]')
    await page.fill("#tracking_no", tracking_no)
    await page.fill("#code", code)
    await page.click("main form button[type=submit]")
    await page.wait_for_url(re.compile(r"/track/case$"))
    await expect(page.locator("main")).to_contain_text(tracking_no)
    await expect(page.locator("main")).to_contain_text(SUBJECT)


async def complainant_answers_the_survey(
    page: Page, site: str, tracking_no: str, code: str
) -> None:
    await complainant_looks_it_up(page, site, tracking_no, code)
    await expect(page.locator("#survey")).to_be_visible()
    await page.check("#satisfaction-satisfied")
    await both_sizes(page, "13-complainant-survey")
    await page.click("#survey button[type=submit]")
    await expect(page.locator(".alert")).to_contain_text("感谢您的评价")
    await expect(page.locator("main")).to_contain_text("已办结")
    await both_sizes(page, "14-complainant-rated")


async def citizen_reports_on_it(page: Page, site: str, tracking_no: str) -> str:
    """A 监督举报 naming the complaint (typed loosely); the report's number."""
    await page.goto(f"{site}/")
    await page.click('main a[href="/complaints/new"]')
    await page.fill("#phone", "13700001111")
    await page.fill("#subject", "对停水投诉的处理不满")
    await page.fill("#description", "停水投诉办理了很久，承办人员答复敷衍。")
    await page.fill("#related_tracking_no", tracking_no.lower())
    await both_sizes(page, "16-citizen-report-form")
    await page.click("main form button[type=submit]")
    await expect(page.locator("dd.code").first).to_have_text(re.compile(r"^TS"))
    await expect(page.locator("dd.related")).to_have_text(tracking_no)  # said back, whole
    await both_sizes(page, "17-citizen-report-filed")
    return (await page.locator("dd.code").first.text_content() or "").strip()


# -- handler --------------------------------------------------------------------


async def handler_claims_and_asks_for_time(page: Page, complaint_id: str, tracking_no: str) -> None:
    await in_queue(page, tracking_no)
    await (
        page.locator(f'tr[data-tracking-no="{tracking_no}"]')
        .get_by_role("button", name="签收")
        .click()
    )
    await expect(page.locator("#case-status")).to_have_text("已签收")
    await page.click("#action-extension > summary")
    await page.fill("#extension-working_days", "5")
    await page.fill("#extension-reason", EXTENSION_REASON)
    await both_sizes(page, "04-handler-asks-for-extension")
    await page.click("#action-extension button[type=submit]")
    await expect(page.locator(".alert")).to_contain_text("延期申请已提交")
    assert page.url.endswith(complaint_id)


async def handler_handles_it(page: Page, site: str, complaint_id: str) -> None:
    """In the policy's order: investigate, plan, the complainant's opinion,
    result, feedback."""
    await page.goto(f"{site}/staff/cases/{complaint_id}")
    await expect(page.locator("#next-step")).to_contain_text("下一步：调查核实")
    await page.click("#action-investigation > summary")
    await page.fill("#investigation-findings", "主管道爆管抢修停水，未按规定提前公告。")
    await page.click("#action-investigation button[type=submit]")
    await expect(page.locator(".alert")).to_contain_text("调查核实情况已记录")
    await plan_and_consult(page, "在小区各单元张贴停水公告并致歉")
    await resolve_and_feed_back(page, "已恢复供水，在小区各单元张贴公告并向住户致歉。")
    await both_sizes(page, "12-handler-fed-back")


# -- supervisor -------------------------------------------------------------------


def pdf_text(pdf: bytes, folder: Path) -> str:
    path = folder / "notice.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, timeout=30
    )
    return re.sub(r"[ \t]+", " ", done.stdout.decode())


async def supervisor_approves_the_extension(
    page: Page, site: str, complaint_id: str, tmp_path: Path
) -> None:
    form = page.locator(f"form[action*='{complaint_id}']")

    async def listed() -> bool:
        await page.goto(f"{site}/staff/dashboard")
        return await form.count() == 1

    await eventually(listed, "the extension request on the dashboard", timeout=20)
    await expect(page.locator("main")).to_contain_text(EXTENSION_REASON)
    await form.locator("input[name=reason]").fill(APPROVAL)
    await both_sizes(page, "05-supervisor-extension-request")
    await form.locator("button[value=yes]").click()
    await page.wait_for_url(re.compile(r"/staff/dashboard\?done=1$"))

    # The notice sent, as the case page offers it.
    await page.goto(f"{site}/staff/cases/{complaint_id}")
    link = page.locator("ul.notices a", has_text="延期")
    await expect(link).to_have_count(1)
    await both_sizes(page, "06-supervisor-case-with-extension-notice")
    response = await page.request.get(f"{site}{await link.get_attribute('href')}")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    text = pdf_text(await response.body(), tmp_path)
    assert f"延期原因：{EXTENSION_REASON}" in text, text
    assert f"投诉事项：{SUBJECT}" in text, text
    assert re.search(r"原定反馈日期：\d{4}年\d{1,2}月\d{1,2}日", text), text
    assert "延长期限：5个工作日" in text, text
    assert APPROVAL not in text  # the approver's comment is not the reason


async def supervisor_raises_a_supervision(
    page: Page, site: str, complaint_id: str, tracking_no: str
) -> None:
    await page.goto(f"{site}/staff/cases/{complaint_id}")
    await page.click("#action-supervise summary")
    await page.fill("#supervise-note", "停水影响面大，请加快办理并答复")
    await page.fill("#supervise-respond_by", (date.today() + timedelta(days=5)).isoformat())
    await both_sizes(page, "07-supervisor-supervise-form")
    await page.click("#action-supervise button[type=submit]")
    await page.wait_for_url(re.compile(rf"/staff/cases/{complaint_id}$"))
    await expect(page.locator(".alert")).to_contain_text("已督办")
    await expect(page.locator("ul.supervision")).to_contain_text("停水影响面大")

    row = page.locator(f'tr[data-tracking-no="{tracking_no}"]', has_text="停水影响面大")

    async def listed() -> bool:
        await page.goto(f"{site}/staff/supervision")
        return await row.count() == 1

    await eventually(listed, "the 督办 on the supervision list", timeout=20)
    await expect(row).to_contain_text("王芳")
    await both_sizes(page, "08-supervisor-supervision-list")


async def supervisor_sees_both_linked(
    page: Page, site: str, complaint_id: str, tracking_no: str, report_no: str
) -> None:
    async def linked() -> bool:
        await page.goto(f"{site}/staff/cases/{complaint_id}")
        return await page.locator("#linked-cases a", has_text=report_no).count() == 1

    await eventually(linked, "the report linked on the earlier case", timeout=20)
    await both_sizes(page, "18-supervisor-earlier-case-linked")
    await page.click(f"#linked-cases a:has-text('{report_no}')")
    await page.wait_for_url(re.compile(r"/staff/cases/[0-9a-f-]{36}$"))
    await expect(page.locator(f'#linked-cases a[href="/staff/cases/{complaint_id}"]')).to_have_text(
        tracking_no
    )
    await both_sizes(page, "19-supervisor-report-linked")


# -- department head -------------------------------------------------------------


async def department_head_sees_each_person(page: Page, site: str) -> None:
    person = page.locator('#people tr[data-person="赵海"]')

    async def counted() -> bool:
        await page.goto(f"{site}/staff")
        await page.get_by_role("link", name="部门看板").first.click()
        # On time, closed and satisfied: once the survey's answer is counted.
        row = await person.text_content() if await person.count() == 1 else ""
        return (row or "").count("100.0% (1/1)") == 3

    await eventually(counted, "赵海's three rates on the department dashboard", timeout=20)
    await expect(page).to_have_url(f"{site}/staff/dashboard")
    await expect(page.locator("#people")).not_to_contain_text("h-zhao")
    await both_sizes(page, "15-department-head-dashboard")


async def test_each_role_walks_the_policy_in_the_pages(
    site: str, browser: Browser, database_url: str, tmp_path: Path, shots: Path
) -> None:
    await accounts(database_url)
    operator = await staff_page(browser, site, "op-li")
    complaint_id, tracking_no, code = await operator_registers_and_accepts(operator, site)

    complainant = await new_page(browser)
    await complainant_looks_it_up(complainant, site, tracking_no, code)
    await both_sizes(complainant, "09-complainant-looks-it-up")

    handler = await staff_page(browser, site, "h-zhao")
    await handler_claims_and_asks_for_time(handler, complaint_id, tracking_no)

    supervisor = await staff_page(browser, site, "sup-wang")
    await supervisor_approves_the_extension(supervisor, site, complaint_id, tmp_path)
    await supervisor_raises_a_supervision(supervisor, site, complaint_id, tracking_no)

    await handler_handles_it(handler, site, complaint_id)
    await complainant_answers_the_survey(complainant, site, tracking_no, code)

    head = await staff_page(browser, site, "dh-qian")
    await department_head_sees_each_person(head, site)

    citizen = await new_page(browser)
    report_no = await citizen_reports_on_it(citizen, site, tracking_no)
    await supervisor_sees_both_linked(supervisor, site, complaint_id, tracking_no, report_no)
