"""The public pages on a phone, in real Chromium against every service: four
citizens, each on a phone of their own, file a complaint, track it, answer the
satisfaction survey once the department has sent its result, read the
commitment register and file a 监督举报 (a report naming their complaint):

- an iPhone in Safari, 375 × 667, in Chinese;
- the same in English, chosen with the language switch on the phone;
- WeChat's in-app browser on Android, 320 wide, in Chinese, and in English.

On every page: nothing scrolls sideways (the document is no wider than the
screen), each control a finger taps in a form or the header is at least 44 px
each way, and text fields use at least 16 px type (smaller makes iOS zoom in
on focus). A form sent with a mistake shows the error summary on the first
screen, and its link brings the field's label and error message into view.

The department's part goes through the staff API (the staff pages have tests
of their own). With TOUSU_PHONE_SHOTS=1 the 375-wide pages, in both
languages, are written to tests/artifacts/phone/ as small PNGs (the ones in
git); without it nothing is written."""

from __future__ import annotations

import io
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ARTIFACTS
from tests.e2e.kit import Staff
from tests.helpers import eventually
from tests.lifecycle import staff_tokens
from tousu.services.gateway.auth import StaffRole

# TOUSU_PHONE_SHOTS=1: the screen a step shows at 375 px, as committed;
# =full: whole pages, the 320-wide phone's too, to look through (larger; not
# for git).
SHOTS_WANTED = os.environ.get("TOUSU_PHONE_SHOTS", "")
SHOTS = ARTIFACTS / "phone"

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
WECHAT_ANDROID = (
    "Mozilla/5.0 (Linux; Android 13; V2183A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20231202 MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F30) WeChat/arm64 "
    "Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)


@dataclass(frozen=True)
class Phone:
    name: str
    width: int
    height: int
    user_agent: str
    lang: str  # the language the citizen reads in ("zh-CN" or "en")
    switches: bool = False  # reaches it with the language switch, from Chinese
    shots: bool = False  # its pages are the 375-wide screenshots


PHONES = [
    Phone("iphone-zh", 375, 667, IPHONE_SAFARI, "zh-CN", shots=True),
    Phone("iphone-en", 375, 667, IPHONE_SAFARI, "en", switches=True, shots=True),
    Phone("wechat-zh", 320, 568, WECHAT_ANDROID, "zh-CN"),
    Phone("wechat-en", 320, 568, WECHAT_ANDROID, "en", switches=True),
]

TEXT = {
    "zh-CN": {
        "subject": "小区自来水停水两天未通知",
        "description": "小区停水两天，事前没有任何公告，供水公司电话无人接听。",
        "report_subject": "对停水投诉的处理不满",
        "report": "停水投诉的答复敷衍，没有说明何时张贴公告。",
        "file": "我要投诉",
        "track": "查询投诉",
        "thanks": "感谢您的评价",
    },
    "en": {
        "subject": "Water cut for two days in our estate without notice",
        "description": "The water was cut for two days without any notice; nobody answered "
        "the water company's phone.",
        "report_subject": "Unhappy with how my water complaint was handled",
        "report": "The answer did not say when notices will be put up.",
        "file": "File a complaint",
        "track": "Track a complaint",
        "thanks": "Thank you",
    },
}

PEOPLE: list[tuple[str, StaffRole, str | None]] = [
    ("op-li", "operator", None),
    ("h-zhao", "handler", "water"),
    ("h-sun", "handler", "service_center"),
    ("sup-wang", "supervisor", None),
]
HANDLERS = {"water": "h-zhao", "service_center": "h-sun"}

# What a phone shows badly: the page wider than the screen, controls smaller
# than a fingertip (44 px, Apple's and WCAG 2.5.5's size), text fields under
# 16 px. Controls are those of forms and the header; links inside running
# text are not (WCAG exempts them).
PHONE_PROBLEMS = """() => {
  const screen = document.documentElement.clientWidth;
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
      + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ')[0] : '')
      + (e.tagName === 'SELECT' ? '' : ' "' + (e.textContent || '').trim().slice(0, 20) + '"');
  const shown = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const problems = [];
  if (document.documentElement.scrollWidth > screen) {
    problems.push('scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + screen);
    for (const e of document.querySelectorAll('body *')) {
      if (e.getBoundingClientRect().right > screen + 1) problems.push('  wider: ' + name(e));
    }
  }
  const targets = document.querySelectorAll(
    'main form button, main form select, main form textarea, main form a, '
    + 'main form input:not([type=hidden]):not([type=radio]):not([type=checkbox]), '
    + '.radio label, .checkbox label, main a.button, .error-summary a, .toc a, '
    + '.lang-switch, .site-nav a, .brand, .contacts a');
  for (const e of targets) {
    if (!shown(e)) continue;
    const r = e.getBoundingClientRect();
    if (r.height < 44 || r.width < 44) {
      problems.push('small target: ' + name(e) + ' ' + Math.round(r.width) + 'x'
                    + Math.round(r.height));
    }
  }
  for (const e of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    if (['radio', 'checkbox'].includes(e.type) || !shown(e)) continue;
    const size = parseFloat(getComputedStyle(e).fontSize);
    if (size < 16) problems.push('small type: ' + name(e) + ' ' + size + 'px');
  }
  return problems;
}"""


# Whether an element (by CSS selector) lies wholly on the current screen.
IN_VIEW = """(sel) => {
  const r = document.querySelector(sel).getBoundingClientRect();
  return r.top >= 0 && r.bottom <= window.innerHeight && r.left >= 0
         && r.right <= document.documentElement.clientWidth;
}"""


@pytest.fixture
async def staff(site: str, database_url: str) -> AsyncIterator[Staff]:
    """The department's side, over the staff API of the same gateway."""
    headers = await staff_tokens(database_url, PEOPLE)
    async with httpx.AsyncClient(base_url=site, timeout=30) as client:
        yield Staff(client, headers)


class Citizen:
    def __init__(self, page: Page, site: str, phone: Phone) -> None:
        self.page = page
        self.site = site
        self.phone = phone
        self.text = TEXT[phone.lang]
        self.tracking_no = ""
        self.code = ""
        self.problems: list[str] = []

    @classmethod
    async def on(cls, browser: Browser, site: str, phone: Phone) -> Citizen:
        context = await browser.new_context(
            viewport={"width": phone.width, "height": phone.height},
            user_agent=phone.user_agent,
            is_mobile=True,
            has_touch=True,
            device_scale_factor=1,  # the screenshots stay small
            locale="zh-CN",
        )
        return cls(await context.new_page(), site, phone)

    async def looks(self, step: str, at: str | None = None) -> None:
        """Notes what reads badly on the phone (the test fails at its end, with
        every page's problems); keeps a screenshot when asked, of the screen
        with ``at`` (a selector) at its top, or of the page's top."""
        for problem in await self.page.evaluate(PHONE_PROBLEMS):
            self.problems.append(f"{self.phone.name} {step}: {problem}")
        full = SHOTS_WANTED == "full"  # every phone then, the 320-wide one too
        if SHOTS_WANTED and (self.phone.shots or full):
            if at is not None:
                await self.page.locator(at).evaluate("e => e.scrollIntoView()")
            SHOTS.mkdir(parents=True, exist_ok=True)
            png = await self.page.screenshot(full_page=full)
            lang = "en" if self.phone.lang == "en" else "zh"
            width = "" if self.phone.width == 375 else f"-{self.phone.width}"
            save_small(png, SHOTS / f"{step}-{lang}{width}.png")

    async def tap(self, selector: str) -> None:
        await self.page.locator(selector).first.tap()

    async def opens_the_site(self) -> None:
        await self.page.goto(f"{self.site}/")
        await expect(self.page.locator("html")).to_have_attribute("lang", "zh-CN")
        if self.phone.switches:
            await self.tap(".lang-switch")
            await expect(self.page.locator("html")).to_have_attribute("lang", "en")
        await self.looks("01-home")

    async def files(self) -> None:
        page = self.page
        await page.get_by_role("link", name=self.text["file"]).first.tap()
        await page.wait_for_url(re.compile(r"/complaints/new"))
        # The language chosen on the home page holds on the next page.
        await expect(page.locator("html")).to_have_attribute("lang", self.phone.lang)
        await self.looks("02-form")
        # The files: a photo from the camera, or chosen (issue 17).
        await self.looks("02-form-files", at="#attachments")
        # Sent without a subject: the summary on the first screen, and its
        # link brings the field's label and its message into view.
        await page.fill("#phone", "13912345678")
        await page.fill("#description", self.text["description"])
        await self.tap("main form button[type=submit]")
        await expect(page.locator("#subject-error")).to_be_visible()
        assert await page.evaluate(IN_VIEW, ".error-summary"), self.phone.name
        await self.tap('.error-summary a[href="#subject"]')
        for selector in ('label[for="subject"]', "#subject-error", "#subject"):
            assert await page.evaluate(IN_VIEW, selector), (self.phone.name, selector)
        await self.looks("03-form-error-at-the-field")
        await expect(page.locator("#description")).to_have_value(self.text["description"])
        await page.fill("#subject", self.text["subject"])
        await self.tap("main form button[type=submit]")
        await expect(page.locator("dd.code").first).to_have_text(re.compile(r"^TS"))
        codes = await page.locator("dd.code").all_text_contents()
        self.tracking_no, self.code = codes[0].strip(), codes[1].strip()
        await self.looks("04-filed")

    async def tracks(self) -> None:
        page = self.page
        await self.tap('main a.button[href="/track"]')
        await page.wait_for_url(re.compile(r"/track$"))
        await self.looks("05-track")
        for field in ("#tracking_no", "#code"):  # the phone's keyboard leaves them be
            await expect(page.locator(field)).to_have_attribute("autocapitalize", "characters")
            await expect(page.locator(field)).to_have_attribute("autocorrect", "off")
        await page.fill("#tracking_no", self.tracking_no)
        await page.fill("#code", self.code)
        await self.tap("main form button[type=submit]")
        await page.wait_for_url(re.compile(r"/track/case$"))
        await expect(page.locator("main h1")).to_have_text(self.tracking_no)
        await expect(page.locator("main")).to_contain_text(self.text["subject"])
        await self.looks("06-case")

    async def answers_the_survey(self) -> None:
        page = self.page
        await page.reload()
        await expect(page.locator("#survey")).to_be_visible()
        await self.looks("07-survey", at="#survey")
        await self.tap("#survey button[type=submit]")  # nothing chosen yet
        await expect(page.locator("#satisfaction-error")).to_be_visible()
        # Back at the survey, not at the page's top, on a screen this small.
        assert await page.evaluate(IN_VIEW, "#satisfaction-error"), self.phone.name
        await self.tap('label[for="satisfaction-satisfied"]')
        await expect(page.locator("#satisfaction-satisfied")).to_be_checked()
        await page.fill("#comment", "👍")
        await self.tap("#survey button[type=submit]")
        await expect(page.locator(".alert")).to_contain_text(self.text["thanks"])
        await expect(page.locator(".status")).to_have_class(re.compile("status-closed"))
        await expect(page.locator("#survey")).to_have_count(0)
        await self.looks("08-closed")

    async def reads_the_commitments(self) -> None:
        await self.tap('.site-nav a[href="/commitments"]')
        await self.page.wait_for_url(re.compile(r"/commitments$"))
        await expect(self.page.locator("article.commitment").first).to_be_visible()
        await self.looks("09-commitments")

    async def reports_on_the_handling(self) -> None:
        """A 监督举报: the public form, naming the earlier complaint."""
        page = self.page
        await self.tap('.site-nav a[href="/complaints/new"]')
        await page.wait_for_url(re.compile(r"/complaints/new$"))
        await page.fill("#phone", "13700001111")
        await page.fill("#subject", self.text["report_subject"])
        await page.fill("#description", self.text["report"])
        await page.fill("#related_tracking_no", self.tracking_no.lower())
        await self.looks("10-report-form", at="#report")
        await self.tap("main form button[type=submit]")
        await expect(page.locator("dd.related")).to_have_text(self.tracking_no)
        await self.looks("11-report-filed")


async def complaint_of(staff: Staff, tracking_no: str) -> str:
    """The complaint's id, once the case index (which follows the store by a
    moment) has it."""
    found: list[str] = []

    async def indexed() -> bool:
        response = await staff.gateway.get(
            "/api/v1/complaints", params={"q": tracking_no}, headers=staff.staff["sup-wang"]
        )
        assert response.status_code == 200, response.text
        found[:] = [c["complaint_id"] for c in response.json()["items"]]
        return len(found) == 1

    await eventually(indexed, f"{tracking_no} in the case index", timeout=20)
    return found[0]


COLOURS = 48


def save_small(png: bytes, path: Path) -> None:
    """A PNG of COLOURS colours: the pages use few, and anti-aliased text
    still reads (fewer turned the green of 已办结 grey); a third of the size."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


async def test_citizens_file_track_and_answer_on_phones(
    site: str, browser: Browser, staff: Staff
) -> None:
    citizens = [await Citizen.on(browser, site, phone) for phone in PHONES]
    for citizen in citizens:
        await citizen.opens_the_site()
        await citizen.files()
        await citizen.tracks()

    for citizen in citizens:
        complaint_id = await complaint_of(staff, citizen.tracking_no)
        # The rules send the Chinese ones to the water company by their words,
        # the English one to the service centre (no rule reads English).
        handler = HANDLERS[await staff.accept_and_await_routing(complaint_id)]
        assert await staff.ok(complaint_id, "claim", handler) == "claimed"
        await staff.handle(complaint_id, handler)
        result = {"result": "已恢复供水，并张贴停水公告", "basis": "供水服务条例"}
        assert await staff.ok(complaint_id, "resolve", handler, result) == "resolved"
        assert await staff.ok(complaint_id, "feedback", handler) == "fed_back"

    for citizen in citizens:
        await citizen.answers_the_survey()
        await citizen.reads_the_commitments()
        await citizen.reports_on_the_handling()

    problems = [problem for citizen in citizens for problem in citizen.problems]
    assert problems == [], "\n".join(problems)
