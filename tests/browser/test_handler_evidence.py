"""A handler attaches evidence through the staff case page, in real Chromium
against every service: a file that is not what it says is refused at the
file field with the typed findings kept; the investigation's photo stays
the department's; the result's photo and report are shared with the
complainant, who then sees them when tracking the complaint on a phone
(375 × 667; the handler works at 1280 × 900). The staff
timeline shows each step's files (thumbnails for photos), and the events
record who may see which (FileRef.shared_with_complainant).

Screens are kept in tests/artifacts/handler-evidence/ (git-ignored)."""

from __future__ import annotations

import io
import json
import re
import uuid

import asyncpg
import httpx
from PIL import Image
from playwright.async_api import Browser, expect

from tests import attachment_files as files
from tests.browser.conftest import new_page, shot, sign_in
from tests.browser.test_handler_journey import (
    PASSWORD,
    add_staff,
    plan_and_consult,
    routed_to_water,
)
from tousu.shared.events import complaint_stream
from tousu.shared.settings import Settings

JOURNEY = "handler-evidence"


async def recorded_files(
    settings: Settings, complaint_id: str
) -> dict[str, list[dict[str, object]]]:
    """Each event type's files, as the store holds them."""
    conn = await asyncpg.connect(str(settings.database_url))
    try:
        rows = await conn.fetch(
            "SELECT type, data -> 'attachments' AS files FROM events"
            " WHERE stream_id = $1 AND data ? 'attachments' ORDER BY version",
            complaint_stream(uuid.UUID(complaint_id)),
        )
    finally:
        await conn.close()
    return {row["type"]: json.loads(row["files"]) for row in rows}


async def test_a_handler_shares_result_evidence_that_the_complainant_then_sees(
    site: str, browser: Browser, settings: Settings
) -> None:
    await add_staff(settings)
    case = await routed_to_water(site, settings)
    complaint_id = case["complaint_id"]
    page = await new_page(browser)
    await sign_in(page, site, "h-zhao", PASSWORD)
    await page.goto(f"{site}/staff/cases/{complaint_id}")
    await page.get_by_role("button", name="签收").click()
    await expect(page.locator("#case-status")).to_have_text("已签收")

    # The investigation, with a "photo" that is HTML: refused at the file
    # field, nothing sent, the findings typed are still there.
    await page.click("#action-investigation > summary")
    field = page.locator("#investigation-evidence")
    await expect(field).to_have_attribute("type", "file")
    await page.fill("#investigation-findings", "泵房阀门老化漏水。")
    await field.set_input_files(
        [{"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": files.HTML_AS_JPG}]
    )
    await page.click("#action-investigation button[type=submit]")
    error = page.locator("#investigation-evidence-error")
    await expect(error).to_contain_text("HTML")
    await expect(page.locator("#investigation-findings")).to_have_value("泵房阀门老化漏水。")
    await expect(page.locator("#case-status")).to_have_text("已签收")
    await shot(page, JOURNEY, "investigation-refused")
    # On a phone the file field fits the page (nothing scrolls sideways).
    await page.set_viewport_size({"width": 375, "height": 667})
    assert await page.evaluate("document.documentElement.scrollWidth") <= 375
    await shot(page, JOURNEY, "investigation-refused-phone")
    await page.set_viewport_size({"width": 1280, "height": 900})
    # Again with a real photo, kept for the department only.
    await field.set_input_files(
        [{"name": "阀门.jpg", "mimeType": "image/jpeg", "buffer": files.photo_with_gps(640, 480)}]
    )
    await page.click("#action-investigation button[type=submit]")
    await expect(page.locator(".alert")).to_contain_text("调查核实情况已记录")
    step_files = page.locator("#timeline [data-step-files]")
    await expect(step_files).to_have_count(1)
    await expect(step_files.first.locator("img")).to_have_attribute("alt", "阀门.jpg")

    await plan_and_consult(page, "更换泵房阀门")

    # The result, with a photo of the repair and the report, shared.
    await page.click("#action-resolve > summary")
    await page.fill("#resolve-result", "已更换阀门，漏水已修复。")
    await page.fill("#resolve-basis", "《城市供水条例》")
    await page.locator("#resolve-evidence").set_input_files(
        [
            {
                "name": "修复后.jpg",
                "mimeType": "image/jpeg",
                "buffer": files.photo_with_gps(480, 360),
            },
            {"name": "维修报告.pdf", "mimeType": "application/pdf", "buffer": files.pdf()},
        ]
    )
    await page.check("#resolve-share_with_complainant")
    await page.click("#action-resolve button[type=submit]")
    await expect(page.locator(".alert")).to_contain_text("处理结果已记录")
    await expect(step_files).to_have_count(2)
    result_files = step_files.nth(1)
    await expect(result_files.locator("li")).to_have_count(2)
    await expect(result_files).to_contain_text("维修报告.pdf")
    await expect(result_files.locator(".tag-shared")).to_have_count(2)
    # The thumbnail is served and is an image (scrolled to: it loads lazily,
    # and the timeline starts below the fold).
    thumb = result_files.locator("img")
    await expect(thumb).to_have_attribute("alt", "修复后.jpg")
    await thumb.scroll_into_view_if_needed()
    await page.wait_for_function(
        "i => i.complete && i.naturalWidth > 0", arg=await thumb.element_handle()
    )
    await shot(page, JOURNEY, "result-with-evidence")
    await page.get_by_role("button", name="反馈结果").click()
    await expect(page.locator("#case-status")).to_contain_text("已反馈")

    # The record: the investigation's photo is the department's, the result's shared.
    recorded = await recorded_files(settings, complaint_id)
    assert [f["shared_with_complainant"] for f in recorded["ComplaintResolved"]] == [True, True]
    assert [f.get("shared_with_complainant", False) for f in recorded["InvestigationRecorded"]] == [
        False
    ]
    assert [f["name"] for f in recorded["ComplaintResolved"]] == ["修复后.jpg", "维修报告.pdf"]

    # The complainant, tracking the complaint, sees the result's files only.
    # On a phone, where most complainants look.
    phone = await browser.new_context(
        viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    citizen = await phone.new_page()
    await citizen.goto(f"{site}/track")
    await citizen.fill("#tracking_no", case["tracking_no"])
    await citizen.fill("#code", case["access_code"])
    await citizen.click("main form button[type=submit]")
    await citizen.wait_for_url(re.compile(r"/track/case$"))
    shown = citizen.locator("main .files")
    await expect(shown).to_contain_text("修复后.jpg")
    await expect(shown).to_contain_text("维修报告.pdf")
    await expect(citizen.locator("main")).not_to_contain_text("阀门.jpg")
    # The photo's thumbnail is served to the complainant (scrolled to: it loads lazily).
    thumbnail = shown.locator("img")
    await expect(thumbnail).to_have_count(1)
    await thumbnail.scroll_into_view_if_needed()
    await citizen.wait_for_function(
        "i => i.complete && i.naturalWidth > 0", arg=await thumbnail.element_handle()
    )
    await shot(citizen, JOURNEY, "complainant-sees-result-evidence")
    # What the complainant is served of the photo has no EXIF (no GPS).
    href = await shown.locator("a", has_text="修复后.jpg").get_attribute("href")
    assert href is not None
    cookies = {c["name"]: c["value"] for c in await citizen.context.cookies()}
    async with httpx.AsyncClient(base_url=site, cookies=cookies) as client:
        served = await client.get(href)
    assert served.status_code == 200, served.text
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.size == (480, 360) and not image.getexif()
