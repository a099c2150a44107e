"""A citizen files a complaint with two photos and sees them when tracking it,
in real Chromium against every service: on a phone (375 × 667, touch, the
form's camera input offered) and on a desk (1280 × 900).

The photos carry a GPS position in their EXIF, as a phone writes it; what the
site serves back, read with Pillow, has no EXIF at all. Screens are kept in
tests/artifacts/citizen-files/ (git-ignored) to look at."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from PIL import Image
from playwright.async_api import Browser, expect

from tests.attachment_files import photo_with_gps
from tests.browser.conftest import shot


@dataclass(frozen=True)
class Screen:
    name: str
    width: int
    height: int
    mobile: bool


SCREENS = [Screen("phone", 375, 667, True), Screen("desk", 1280, 900, False)]


def has_gps(jpeg: bytes) -> bool:
    return bool(Image.open(io.BytesIO(jpeg)).getexif().get_ifd(0x8825))


@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: s.name)
async def test_a_citizen_files_two_photos_and_sees_them_when_tracking(
    browser: Browser, site: str, screen: Screen
) -> None:
    context = await browser.new_context(
        viewport={"width": screen.width, "height": screen.height},
        is_mobile=screen.mobile,
        has_touch=screen.mobile,
        locale="zh-CN",
    )
    page = await context.new_page()
    photos = [photo_with_gps(480, 360), photo_with_gps(360, 480)]
    assert all(has_gps(p) for p in photos)  # what the phone sends has the position

    await page.goto(f"{site}/complaints/new")
    camera = page.locator("#attachments-camera")
    await expect(camera).to_have_attribute("capture", "environment")
    await expect(camera).to_have_attribute("accept", "image/*")
    await expect(page.locator("#attachments-files")).to_have_attribute(
        "accept", "image/*,application/pdf"
    )
    await page.fill("#phone", "13912345678")
    await page.fill("#subject", "泵房漏水")
    await page.fill("#description", "小区泵房漏水三天，地面积水。照片两张。")
    await page.set_input_files(
        "#attachments-files",
        [
            {"name": "泵房.jpg", "mimeType": "image/jpeg", "buffer": photos[0]},
            {"name": "IMG_0002.JPG", "mimeType": "image/jpeg", "buffer": photos[1]},
        ],
    )
    await shot(page, "citizen-files", f"{screen.name}-01-form")
    submit = page.locator("main form button[type=submit]")
    await (submit.tap() if screen.mobile else submit.click())
    await expect(page.locator("dd.code").first).to_have_text(re.compile(r"^TS"))
    codes = [c.strip() for c in await page.locator("dd.code").all_text_contents()]
    tracking_no, code = codes[0], codes[1]

    await page.goto(f"{site}/track")
    await page.fill("#tracking_no", tracking_no)
    await page.fill("#code", code)
    await page.locator("main form button[type=submit]").click()
    await page.wait_for_url(re.compile(r"/track/case$"))
    thumbnails = page.locator("ul.files img")
    await expect(thumbnails).to_have_count(2)
    await thumbnails.last.scroll_into_view_if_needed()
    for i in range(2):
        # Drawn: the thumbnail came back as an image the browser decoded.
        await expect(thumbnails.nth(i)).to_have_js_property("complete", True)
        assert await thumbnails.nth(i).evaluate("img => img.naturalWidth") > 0
    assert await page.evaluate("document.documentElement.scrollWidth") <= screen.width
    await shot(page, "citizen-files", f"{screen.name}-02-tracking")

    # Each thumbnail links to its photo; served, it has no EXIF, GPS least of all.
    links = page.locator("ul.files a")
    names = await links.all_text_contents()
    assert [n.strip() for n in names] == ["泵房.jpg", "IMG_0002.jpg"]
    for i in range(2):
        href = await links.nth(i).get_attribute("href")
        assert href is not None and href.startswith("/track/files/")
        served = await context.request.get(f"{site}{href}")
        assert served.status == 200
        assert served.headers["x-content-type-options"] == "nosniff"
        body = await served.body()
        image = Image.open(io.BytesIO(body))
        assert image.format == "JPEG" and not image.getexif() and "exif" not in image.info
        assert not has_gps(body)
        thumb = await context.request.get(f"{site}{href}/thumb")
        assert thumb.status == 200 and not Image.open(io.BytesIO(await thumb.body())).getexif()
    # The first photo, opened as the citizen taps it.
    await (links.first.tap() if screen.mobile else links.first.click())
    await page.wait_for_url(re.compile(r"/track/files/[0-9a-f]{64}$"))
    await context.close()
