"""In real Chromium against every service: a place's complaints tripling this
week over eight flat weeks; the metrics service's hotspot watcher raises the
alert, and the supervisor's dashboard lists the place first under 本周, with
its count, the hotspot and alert flags and links that open its cases — on a
desk and on a phone."""

from __future__ import annotations

import re

import asyncpg
import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import new_page, shot, sign_in
from tests.helpers import eventually
from tests.hotspot_scenario import PLACE, seed
from tests.web_kit import PASSWORD, add_user
from tousu.services.metrics.hotspots.alerts import alert_stream
from tousu.services.metrics.hotspots.surge import window_of
from tousu.shared.events import utcnow
from tousu.shared.store.postgres import PostgresEventStore

JOURNEY = "hotspots"


@pytest.fixture
def child_env(child_env: dict[str, str]) -> dict[str, str]:
    # The watcher looks every second instead of every ten minutes.
    return child_env | {"TOUSU_QUALITY_HOTSPOT_INTERVAL": "1"}


async def test_the_dashboard_lists_this_weeks_hotspot_with_links(
    site: str, browser: Browser, store: PostgresEventStore, pool: asyncpg.Pool
) -> None:
    await add_user(pool, "sup-wang", "supervisor")
    now = utcnow()
    ours = await seed(store, now, this_week=9)
    stream = alert_stream("location", PLACE, "week", window_of("week", now).start)

    async def raised() -> bool:
        return bool(await store.read_stream(stream))

    await eventually(raised, "the hotspot alert", timeout=60)

    page = await new_page(browser)
    await sign_in(page, site, "sup-wang", PASSWORD)
    await page.goto(f"{site}/staff/dashboard")
    week = page.locator("ol.hotspot-list[data-period=week] > li")
    first = week.first
    await expect(first.locator(".hotspot-name")).to_have_text(PLACE)
    await expect(first).to_contain_text("9 件")
    await expect(first).to_contain_text("上升 3.0 倍")
    await expect(first).to_contain_text("已预警")
    await expect(page.locator("#hotspot-alerts")).to_contain_text(PLACE)
    # The supervision office's list has it too, beside its 督办 items.
    await page.goto(f"{site}/staff/supervision")
    await expect(page.locator("#hotspot-alerts")).to_contain_text(PLACE)
    await expect(page.locator("#hotspot-alerts a").first).to_have_attribute(
        "href", re.compile(r"^/staff/cases/")
    )
    await shot(page, JOURNEY, "supervision-1280")
    await page.goto(f"{site}/staff/dashboard")
    links = first.locator(".hotspot-cases a")
    await expect(links).to_have_count(3)
    await first.scroll_into_view_if_needed()
    await shot(page, JOURNEY, "dashboard-1280")
    await page.locator("#hotspots").screenshot(path="/tmp/iss20/shots/hotspots-1280.png")
    await page.set_viewport_size({"width": 375, "height": 812})
    await page.locator("#hotspots").screenshot(path="/tmp/iss20/shots/hotspots-375.png")
    box = await first.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 375
    href = await links.first.get_attribute("href")
    assert href is not None and any(str(i) in href for i in ours)
    await links.first.click()
    await page.wait_for_url(f"{site}{href}")
    await expect(page.locator("main")).to_contain_text("路灯不亮")
