"""In real Chromium: a citizen files on the web form, gets the tracking
number and access code, and looks the complaint up; a wrong form shows each
error next to its field, in Chinese and in English."""

from __future__ import annotations

import re

from playwright.async_api import Browser, expect

from tests.browser.conftest import new_page, shot

SCRIPT = "<script>alert('x')</script>"


async def test_a_citizen_files_and_looks_it_up(site: str, browser: Browser) -> None:
    page = await new_page(browser)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: dialogs.append(dialog.message))

    await page.goto(f"{site}/")
    await shot(page, "public", "home")
    await page.goto(f"{site}/complaints/new")
    await page.fill("#name", "刘洋")
    await page.fill("#phone", "13912345678")
    await page.fill("#subject", "自来水停水两天未通知")
    await page.fill("#description", f"小区停水两天，供水公司电话无人接听。{SCRIPT}")
    await shot(page, "public", "form-filled")
    await page.click("button[type=submit]")

    await expect(page.locator("dd.code").first).to_have_text(re.compile(r"^TS"))
    codes = await page.locator("dd.code").all_text_contents()
    tracking_no, access_code = codes[0].strip(), codes[1].strip()
    await shot(page, "public", "filed")

    await page.goto(f"{site}/track")
    await page.fill("#tracking_no", tracking_no)
    await page.fill("#code", access_code)
    await page.click("button[type=submit]")
    await expect(page.locator("main")).to_contain_text(tracking_no)
    await expect(page.locator("main")).to_contain_text("待受理")
    # The script in the complaint's text shows as text and never runs.
    await expect(page.locator("main")).to_contain_text(SCRIPT)
    assert dialogs == []
    await shot(page, "public", "case")


async def test_form_errors_sit_next_to_their_fields_in_both_languages(
    site: str, browser: Browser
) -> None:
    for lang, expected in (("zh-CN", "请填写"), ("en", "Please fill in this field")):
        page = await new_page(browser, lang=lang)
        await page.goto(f"{site}/complaints/new?lang={lang}")
        await page.fill("#description", "x" * 10)
        await page.click("button[type=submit]")
        subject_error = page.locator("#subject-error")
        await expect(subject_error).to_be_visible()
        await expect(subject_error).to_contain_text(expected)
        # The message is the one the field points at, for screen readers too.
        described = await page.get_attribute("#subject", "aria-describedby")
        assert described is not None and "subject-error" in described
        await expect(page.locator("#description")).to_have_value("x" * 10)
        await shot(page, "public", f"errors-{lang}")
