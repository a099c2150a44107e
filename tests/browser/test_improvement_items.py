"""In real Chromium against every service: an improvement item's whole life
(整改跟踪). A case fed back 45 days ago promised three improvements; the
metrics service opened an item for each, now past due. The water handler
sees them marked overdue by working days, is told at the field that a
closing needs evidence, closes one with evidence and sees it closed late; the
case page lists the case's items; another department's handler finds none;
the supervision office's list shows the two still open."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import new_page, shot, sign_in
from tests.helpers import eventually
from tests.improvement_cases import day_at, resolved_case
from tousu.services.gateway.auth import StaffRole
from tousu.services.gateway.auth import repository as repo
from tousu.services.gateway.auth.passwords import hash_password
from tousu.services.metrics.improvements.views import items_of_case
from tousu.shared.calendar import WorkdayCalendar
from tousu.shared.calendar.repository import load_years
from tousu.shared.events import utcnow
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

PASSWORD = "correct horse battery"
JOURNEY = "improvements"
SHOTS = Path("/tmp/iss20/shots")
# Copies for the review of this work, where that folder exists.
SHOTS_WANTED = SHOTS.is_dir()


@pytest.fixture
async def staff(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        people: list[tuple[str, StaffRole, str | None, str]] = [
            ("op-li", "operator", None, "李明"),
            ("h-zhao", "handler", "water", "赵强"),
            ("h-sun", "handler", "transport", "孙丽"),
            ("sup-wang", "supervisor", None, "王芳"),
        ]
        for username, role, department, name in people:
            await repo.create_user(
                conn,
                username,
                role=role,
                department=department,
                password_hash=hash_password(PASSWORD),
                display_name=name,
            )
    finally:
        await conn.close()


async def both_widths(page: Page, step: str) -> None:
    """The page at 1280 and at 375 wide, for people to look at."""
    await shot(page, JOURNEY, step)
    if SHOTS_WANTED:
        await page.screenshot(path=str(SHOTS / f"improvements-{step}-1280.png"), full_page=True)
        await page.set_viewport_size({"width": 375, "height": 812})
        await page.screenshot(path=str(SHOTS / f"improvements-{step}-375.png"), full_page=True)
        await page.set_viewport_size({"width": 1280, "height": 900})


async def test_an_improvement_item_from_feedback_to_closing(
    site: str,
    browser: Browser,
    staff: None,
    store: PostgresEventStore,
    settings: Settings,
    pool: asyncpg.Pool,
) -> None:
    # Fed back 45 days ago: its items (20 working days) are past due by construction.
    received = day_at(47, 9)
    cid, tracking_no = await resolved_case(
        store, settings, received, day_at(46, 15), fed_back=day_at(45, 10)
    )

    async def opened() -> bool:
        return len(await items_of_case(pool, cid)) == 3

    await eventually(opened, "the feedback's three items", timeout=20)
    items = await items_of_case(pool, cid)
    days = WorkdayCalendar(await load_years(pool))
    late = days.working_days_between(items[0].due_at, utcnow())
    assert late >= 5

    page = await new_page(browser)
    await sign_in(page, site, "h-zhao", PASSWORD)
    await page.goto(f"{site}/staff/improvements")
    rows = page.locator("#improvement-items tbody tr")
    await expect(rows).to_have_count(3)
    await expect(rows.first).to_have_class(re.compile("row-red"))
    await expect(rows.first).to_contain_text("加强抢修人员培训")
    await expect(rows.first).to_contain_text(f"已逾期 {late} 个工作日")
    await expect(rows.first.locator("a.code")).to_have_text(tracking_no)
    await both_widths(page, "list-overdue")

    # The first item: closing without evidence is refused at the field.
    await rows.first.locator(".improvement-text a").click()
    await page.wait_for_url(re.compile(rf"/staff/improvements/{items[0].item_id}$"))
    await page.click("main form.form button[type=submit]")
    await expect(page.locator(".field-error #evidence")).to_be_visible()
    await expect(page.locator("#evidence-error")).to_contain_text("请写明做了什么整改")
    await both_widths(page, "close-refused")
    assert (await items_of_case(pool, cid))[0].status == "open"

    await page.fill("#evidence", "3月3日组织12名抢修人员培训，签到表已存档。")
    await page.click("main form.form button[type=submit]")
    await page.wait_for_url(re.compile(r"\?closed=1$"))
    await expect(page.locator("#improvement-alert")).to_contain_text("整改事项已销号")
    await expect(page.locator("#improvement-status")).to_contain_text("已整改")
    await expect(page.locator("#improvement-status")).to_contain_text(f"逾期 {late} 个工作日后销号")
    await expect(page.locator("#improvement-evidence")).to_have_text(
        "3月3日组织12名抢修人员培训，签到表已存档。"
    )
    await expect(page.locator("main form.form")).to_have_count(0)
    await both_widths(page, "closed")
    closed = (await items_of_case(pool, cid))[0]
    assert closed.status == "closed" and closed.closed_by == "h-zhao"

    # The case page lists the case's items, each with its standing.
    await page.click(f"a.code:has-text('{tracking_no}')")
    await page.wait_for_url(re.compile(rf"/staff/cases/{cid}$"))
    case_items = page.locator("#case-improvements li")
    await expect(case_items).to_have_count(3)
    await expect(case_items.first).to_contain_text("已整改")
    await expect(case_items.nth(1)).to_contain_text("已逾期")
    await shot(page, JOURNEY, "case-page")
    await page.set_viewport_size({"width": 375, "height": 812})
    await shot(page, JOURNEY, "case-page-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})

    # Under way: the two still open; done: the one closed.
    await page.goto(f"{site}/staff/improvements?status=open")
    await expect(page.locator("#improvement-items tbody tr")).to_have_count(2)
    await page.goto(f"{site}/staff/improvements?status=closed")
    await expect(page.locator("#improvement-items tbody tr")).to_have_count(1)

    # Another department's handler sees none of them, and not the item itself.
    other = await new_page(browser)
    await sign_in(other, site, "h-sun", PASSWORD)
    await other.goto(f"{site}/staff/improvements")
    await expect(other.locator("#improvements-empty")).to_be_visible()
    response = await other.goto(f"{site}/staff/improvements/{items[1].item_id}")
    assert response is not None and response.status == 404

    # The supervision office: the two open items on its list, the longest late first.
    office = await new_page(browser)
    await sign_in(office, site, "sup-wang", PASSWORD)
    await office.goto(f"{site}/staff/supervision")
    overdue_rows = office.locator("#overdue-improvements tbody tr")
    await expect(overdue_rows).to_have_count(2)
    await expect(overdue_rows.first).to_contain_text("停水前48小时在小区公告")
    await expect(overdue_rows.first).to_contain_text(f"已逾期 {late} 个工作日")
    await both_widths(office, "supervision")
    # Overdue: the two open and the one closed late; the office may not close.
    await office.goto(f"{site}/staff/improvements?status=overdue")
    await expect(office.locator("#improvement-items tbody tr")).to_have_count(3)
    await both_widths(office, "office-overdue")
    await office.goto(f"{site}/staff/improvements/{items[1].item_id}")
    await expect(office.locator("main form.form")).to_have_count(0)
    assert utcnow() - timedelta(days=1) < closed.closed_at  # type: ignore[operator]

    # In English too.
    await office.goto(f"{site}/staff/improvements?status=overdue&lang=en")
    english = office.locator("#improvement-items tbody tr")
    await expect(english.first).to_contain_text(f"Closed {late} working days late")
    await expect(english.nth(1)).to_contain_text(f"{late} working days late")
    await both_widths(office, "office-overdue-en")
