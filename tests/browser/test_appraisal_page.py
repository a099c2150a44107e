"""In real Chromium: the appraisal page (/staff/appraisal) of the scripted
October (tests/appraisal_scenario.py) — the ranking with scores, the 表彰 and
批评和问责 lists, a unit's calculation line by line, by person too — on a
desk and on a phone; a department head sees their department only; and the
supervisor dashboard's panel links to it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, Page, expect

from tests.appraisal_scenario import SCRIPTS, record_quality
from tests.browser.conftest import gateway_process, new_page, shot, sign_in
from tests.helpers import project_everything
from tests.kpi_scenario import drive
from tests.web_kit import PASSWORD, add_user
from tousu.shared.settings import Settings
from tousu.shared.store.postgres import PostgresEventStore

JOURNEY = "appraisal"
SHOTS = Path("/tmp/iss20/shots")


@pytest.fixture
async def gateway(child_env: dict[str, str], tmp_path: Path) -> AsyncIterator[str]:
    """The gateway alone: the page only reads what the projections hold, and
    no other service may act on the scripted cases."""
    async with gateway_process(child_env, tmp_path) as base:
        yield base


async def fits(page: Page, width: int) -> None:
    scroll = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll} px wide in a {width} px window"


async def test_the_appraisal_page(
    gateway: str,
    browser: Browser,
    store: PostgresEventStore,
    pool: asyncpg.Pool,
    settings: Settings,
) -> None:
    await drive(store, SCRIPTS)
    await record_quality(store, settings)
    await project_everything(store)
    await add_user(pool, "sup-wang", "supervisor")
    await add_user(pool, "head-zhao", "dept_head", department="water")

    page = await new_page(browser)
    await sign_in(page, gateway, "sup-wang", PASSWORD)
    # The dashboard's panel is last month's and links to its appraisal.
    await page.goto(f"{gateway}/staff/dashboard")
    link = page.locator("#appraisal-panel a")
    await expect(link).to_have_attribute(
        "href", re.compile(r"^/staff/appraisal\?period=\d{4}-\d{2}$")
    )
    await page.locator("#appraisal-panel").screenshot(path=str(SHOTS / "appraisal-panel-1280.png"))
    await page.goto(f"{gateway}/staff/appraisal?period=2026-10")
    rows = page.locator("#ranking tbody tr")
    await expect(rows).to_have_count(4)
    assert await rows.evaluate_all("rs => rs.map(r => r.dataset.unit)") == [
        "transport",
        "housing",
        "health",
        "water",
    ]
    await expect(rows.nth(0).locator(".score")).to_have_text("100.00")
    await expect(rows.nth(3).locator(".score")).to_have_text("53.17")
    await expect(page.locator("#commend li")).to_have_count(1)
    await expect(page.locator("#commend")).to_contain_text("100.00")
    await expect(page.locator("#account li")).to_have_count(1)
    await expect(page.locator("#account")).to_contain_text("53.17")
    await expect(page.locator("#appraisal-scheme")).to_contain_text("考核方案第 1 版")
    # Water's calculation, opened from its row.
    await rows.nth(3).locator("th a").click()
    water = page.locator("#unit-water")
    await water.locator("summary").click()
    lines = water.locator("table.appraisal-lines tbody tr")
    await expect(lines.nth(0)).to_contain_text("3/4")
    await expect(lines.nth(0)).to_contain_text("75.00%")
    await expect(lines.nth(3)).to_contain_text("2/3")
    await expect(lines.nth(3)).to_contain_text("16.67")
    await expect(lines.nth(4)).to_contain_text("1 件均分 70")
    await expect(lines.nth(4)).to_contain_text("7.00")
    await expect(water).to_contain_text("58.67")
    await expect(water).to_contain_text("退单: 1 × 1.00")
    await expect(water).to_contain_text("督办: 2 × 1.00")
    await expect(water.locator("tr.total")).to_contain_text("53.17")
    # Transport had no review: rescaled over the weights with values.
    await expect(page.locator("#unit-transport")).to_contain_text("90.00 × 100 ÷ 90")
    await shot(page, JOURNEY, "page-1280")
    await page.screenshot(path=str(SHOTS / "appraisal-1280.png"), full_page=True)
    await fits(page, 1280)
    await page.set_viewport_size({"width": 375, "height": 812})
    await page.screenshot(path=str(SHOTS / "appraisal-375.png"), full_page=True)
    await fits(page, 375)

    # By person: the tie between h-sun and h-zhou goes by the code.
    await page.set_viewport_size({"width": 1280, "height": 900})
    await page.select_option("#by", "person")
    await page.click("#appraisal-period button[type=submit]")
    await expect(rows).to_have_count(6)
    assert await rows.evaluate_all("rs => rs.map(r => r.dataset.unit)") == [
        "h-sun",
        "h-zhou",
        "h-zhao",
        "h-zheng",
        "h-wu",
        "h-lin",
    ]
    await expect(page.locator("#commend li")).to_have_count(2)
    await expect(page.locator("#account")).to_contain_text("19.22")
    await page.screenshot(path=str(SHOTS / "appraisal-person-1280.png"), full_page=True)

    # In English.
    await page.goto(f"{gateway}/staff/appraisal?period=2026-10&lang=en")
    await expect(page.locator("h1")).to_have_text("Appraisal 2026-10")
    await expect(page.locator("#commend-title")).to_have_text("Commended (表彰)")
    await expect(page.locator("#unit-water")).to_contain_text("mean 70 of 1 reviewed")
    await page.screenshot(path=str(SHOTS / "appraisal-en-1280.png"), full_page=True)
    await page.goto(f"{gateway}/staff/appraisal?period=2026-10&lang=zh")

    response = await page.goto(f"{gateway}/staff/appraisal?period=2026-13")
    assert response is not None and response.status == 422
    await expect(page.locator("#appraisal-problem")).to_contain_text("2026-Q4")

    # The head of water: their department, ranked among all, and its people.
    head = await new_page(browser)
    await sign_in(head, gateway, "head-zhao", PASSWORD)
    await head.goto(f"{gateway}/staff/appraisal?period=2026-10")
    head_rows = head.locator("#ranking tbody tr")
    await expect(head_rows).to_have_count(1)
    await expect(head_rows.first.locator("td").first).to_have_text("4")
    await expect(head.locator("#account li")).to_have_count(1)
    await head.goto(f"{gateway}/staff/appraisal?period=2026-10&by=person")
    assert await head_rows.evaluate_all("rs => rs.map(r => r.dataset.unit)") == [
        "h-zhao",
        "h-lin",
    ]
    await expect(head_rows.first.locator("td").first).to_have_text("3")
